#include "broker/mounts/auth_mounts.hpp"

#include <gtest/gtest.h>

#include "broker/storage/inmem_backend.hpp"

namespace credbroker::mounts {
namespace {

using std::chrono::seconds;

struct recording_observer final : auth_mount_observer {
  void mounted(const std::string& path, std::shared_ptr<auth::approle_backend> b) override {
    events.push_back("+" + path);
    backends[path] = std::move(b);
  }
  void unmounted(const std::string& path) override {
    events.push_back("-" + path);
    backends.erase(path);
  }
  std::vector<std::string> events;
  std::map<std::string, std::shared_ptr<auth::approle_backend>> backends;
};

class auth_mounts_test : public ::testing::Test {
 protected:
  auth_mounts_test() { methods_.observe(&seen_); }

  storage::inmem_backend store_;
  fake_clock clock_{time_point{seconds{1'800'000'000}}};
  auth::token_store tokens_{store_, clock_};
  recording_observer seen_;
  auth_mounts methods_{store_, tokens_, clock_};
};

TEST_F(auth_mounts_test, enable_disable_and_load) {
  ASSERT_TRUE(methods_.enable("team/approle", "approle", "ci"));
  EXPECT_EQ(seen_.events, std::vector<std::string>{"+team/approle/"});
  EXPECT_EQ(methods_.mount_of("team/approle/login"), "team/approle/");
  EXPECT_EQ(methods_.mount_of("token/create"), "token/");
  EXPECT_EQ(methods_.find("team/approle")->description, "ci");

  auth_mounts again(store_, tokens_, clock_);
  recording_observer other;
  again.observe(&other);
  ASSERT_TRUE(again.load());
  EXPECT_EQ(other.events, std::vector<std::string>{"+team/approle/"});

  ASSERT_TRUE(methods_.disable("team/approle"));
  EXPECT_FALSE(methods_.find("team/approle"));
  EXPECT_TRUE(seen_.backends.empty());
  EXPECT_TRUE(methods_.disable("team/approle"));  // twice is fine
}

TEST_F(auth_mounts_test, refusals) {
  ASSERT_TRUE(methods_.enable("approle", "approle", ""));
  struct row {
    std::string path, type, error;
  };
  const std::vector<row> rows = {
      {"approle/x", "approle", "path is already in use at approle/"},
      {"token", "approle", "path is already in use at token/"},
      {"tok", "token", "token credential backend cannot be instantiated"},
      {"x", "ldap", "unknown auth method type: \"ldap\" (credbroker supports approle)"},
      {"", "approle", "path cannot be empty"},
      {"a b", "approle", "invalid path \"a b/\""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path + " " + r.type);
    auto s = methods_.enable(r.path, r.type, "");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().message, r.error);
  }
  EXPECT_EQ(methods_.disable("token").err().message, "token credential backend cannot be disabled");
  auto t = methods_.tune("approle", {seconds{600}, seconds{60}, std::nullopt});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.err().message, "backend max lease TTL of 60 would be less than backend default lease TTL of 600");
  ASSERT_TRUE(methods_.tune("approle", {seconds{60}, seconds{600}, std::string("tuned")}));
  EXPECT_EQ(methods_.find("approle")->max_ttl, 600);
  EXPECT_EQ(methods_.rows().size(), 1U);
}

}  // namespace
}  // namespace credbroker::mounts
