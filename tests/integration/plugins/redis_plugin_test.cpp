// The Redis plugin against the real Redis 7 started by scripts/test-servers.sh.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "broker/core/random.hpp"

#include "broker/plugin/registry.hpp"
#include "plugins/builtin.hpp"
#include "support/env.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class redis_plugin : public ::testing::Test {
 protected:
  void SetUp() override {
    plugins::register_builtin_plugins(registry_);
    host_ = test::env_or_fail("CREDBROKER_TEST_REDIS_HOST");
    port_ = test::env_or_fail("CREDBROKER_TEST_REDIS_PORT");
    user_ = test::env_or_fail("CREDBROKER_TEST_REDIS_USER");
    password_ = test::env_or_fail("CREDBROKER_TEST_REDIS_PASSWORD");
    ASSERT_FALSE(host_.empty() || port_.empty() || user_.empty() || password_.empty());
    auto p = registry_.create("redis-database-plugin");
    ASSERT_TRUE(p.ok());
    plugin_ = std::move(*p);
  }
  json config(const std::string& password) const {
    return json{{"host", host_}, {"port", std::stoi(port_)}, {"username", user_}, {"password", password}};
  }
  plugin::registry registry_;
  std::unique_ptr<plugin::database_plugin> plugin_;
  std::string host_, port_, user_, password_;
};

TEST_F(redis_plugin, verifies_a_working_connection) {
  EXPECT_EQ(plugin_->type(), "redis");
  auto r = plugin_->initialize({config(password_), true});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(plugin_->verify().ok());
  EXPECT_TRUE(plugin_->close().ok());
  EXPECT_FALSE(plugin_->verify().ok());
}

TEST_F(redis_plugin, wrong_password_is_refused_without_echoing_it) {
  const std::string wrong = "Wrong-Password-4711";
  auto r = plugin_->initialize({config(wrong), true});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("error verifying connection"), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find(wrong), std::string::npos) << r.err().message;
}

TEST_F(redis_plugin, config_errors_table) {
  struct row {
    std::function<void(json&)> edit;
    const char* error;
  };
  const std::vector<row> rows = {
      {[](json& c) { c.erase("host"); }, "host cannot be empty"},
      {[](json& c) { c.erase("port"); }, "port cannot be empty"},
      {[](json& c) { c["port"] = "abc"; }, "port must be an integer"},
      {[](json& c) { c["port"] = 70000; }, "port must be between 1 and 65535"},
      {[](json& c) { c.erase("username"); }, "username cannot be empty"},
      {[](json& c) { c["password"] = ""; }, "password cannot be empty"},
      {[](json& c) { c["tls"] = true; }, "tls not supported by this build (Debian's hiredis 0.14 has no TLS support)"},
  };
  for (const auto& r : rows) {
    json c = config(password_);
    r.edit(c);
    auto res = plugin_->initialize({c, false});
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.err().message, r.error);
  }
}

// rotate_root while other threads create and drop users: no call fails because of a rotation (a
// call that read the old password just before it was removed logs in with the new one), and only
// the last password logs in afterwards. On its own admin user: the shared root stays untouched.
TEST_F(redis_plugin, rotate_root_under_concurrent_issuance_fails_no_call) {
  auto root = registry_.create("redis-database-plugin");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE((*root)->initialize({config(password_), true}).ok());
  const std::string admin = "rotation_admin_" + std::to_string(::getpid());
  secret admin_password("Admin-Password-0-" + std::to_string(::getpid()));
  ASSERT_TRUE((*root)->new_user({admin, {R"(["+@all", "~*", "&*"])"}, {}, admin_password, {}}).ok());
  json cfg = config(admin_password.reveal());
  cfg["username"] = admin;
  cfg["max_open_connections"] = 16;
  ASSERT_TRUE(plugin_->initialize({cfg, true}).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::vector<std::string> failures;
  std::mutex failures_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < 6; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string user = "ROTATION_LOAD_" + std::to_string(t) + "_" + std::to_string(i);
        auto made = plugin_->new_user({user, {}, {}, secret("Load-Password-1"), {}});
        auto dropped = plugin_->delete_user({user, {}});
        std::lock_guard lock(failures_mu);
        if (!made) failures.push_back(made.err().message);
        if (!dropped) failures.push_back(dropped.err().message);
        ++calls;
      }
    });
  }
  secret last = admin_password;
  std::vector<secret> earlier;
  for (int r = 1; r <= 25; ++r) {
    earlier.push_back(last);
    last = secret("Admin-Password-" + std::to_string(r) + "-" + std::to_string(::getpid()));
    auto rotated = plugin_->rotate_root({last, {}});
    ASSERT_TRUE(rotated.ok()) << rotated.err().message;
    EXPECT_EQ(rotated->config["password"], last.reveal());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures, std::vector<std::string>{});
  EXPECT_GT(calls.load(), 25);

  // Only the last password logs in.
  auto with = [&](const secret& pw) {
    auto p = registry_.create("redis-database-plugin");
    json c = cfg;
    c["password"] = pw.reveal();
    return (*p)->initialize({c, true}).ok();
  };
  EXPECT_TRUE(with(last));
  EXPECT_FALSE(with(earlier.front()));
  EXPECT_FALSE(with(earlier.back()));
  EXPECT_TRUE(plugin_->close().ok());
  EXPECT_TRUE((*root)->delete_user({admin, {}}).ok());
}

// The connections of a broker run are named with its boot id; end_sessions(boot) of a later run
// kills exactly those, and returns once CLIENT LIST shows none.
TEST_F(redis_plugin, end_sessions_kills_only_that_runs_connections) {
  auto named = [&](const std::string& boot) {
    const std::string cmd = "REDISCLI_AUTH='" + password_ + "' redis-cli -h " + host_ + " -p " + port_ + " --user " + user_ +
                            " CLIENT LIST 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    int n = 0;
    char line[4096];
    while (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
      if (std::string(line).find(" name=credbroker:" + boot + " ") != std::string::npos) ++n;
    }
    if (f != nullptr) ::pclose(f);
    return n;
  };
  auto make = [&](const std::string& boot) {
    auto p = registry_.create("redis-database-plugin");
    EXPECT_TRUE(p.ok());
    plugin::initialize_request req{config(password_), true, boot};
    EXPECT_TRUE((*p)->initialize(req).ok());  // verify: one pooled connection
    return std::move(*p);
  };
  const std::string dead_boot = "dead" + random_alnum(12), live_boot = "live" + random_alnum(12);
  const std::string next_boot = "next" + random_alnum(12);
  auto dead = make(dead_boot);
  auto live = make(live_boot);
  auto next = make(next_boot);
  EXPECT_EQ(named(dead_boot), 1);
  EXPECT_EQ(named(live_boot), 1);
  EXPECT_FALSE(next->end_sessions(next_boot).ok()) << "its own connections must be refused";
  auto ended = next->end_sessions(dead_boot);
  ASSERT_TRUE(ended.ok()) << ended.err().message;
  EXPECT_EQ(named(dead_boot), 0);
  EXPECT_EQ(named(live_boot), 1) << "another run's connection was killed";
  EXPECT_TRUE(next->end_sessions(dead_boot).ok());  // none left: a success at once
  // The killed connection is replaced transparently on the next call (it is retried once).
  EXPECT_TRUE(dead->verify().ok());
}

// A revocation cut half-way leaves the user on some nodes: it is neither complete nor gone, so an
// inherited lease's revocation runs again and removes the rest.
TEST_F(redis_plugin, a_user_left_on_the_replica_only_is_not_gone) {
  const std::string replica_port = test::env_or_fail("CREDBROKER_TEST_REDIS_REPLICA_PORT");
  json cfg = config(password_);
  cfg["replicas"] = json::array({host_ + ":" + replica_port});
  ASSERT_TRUE(plugin_->initialize({cfg, true}).ok());
  const std::string user = "gone_test_" + random_alnum(12);
  plugin::new_user_request req{user, {R"(["~gone:*", "+@read"])"}, {}, secret("Pw-" + random_alnum(20)),
                               std::chrono::system_clock::now() + std::chrono::hours(1)};
  ASSERT_TRUE(plugin_->new_user(req).ok());
  const std::string cmd = "REDISCLI_AUTH='" + password_ + "' redis-cli -h " + host_ + " -p " + port_ + " --user " + user_ +
                          " ACL DELUSER " + user + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);  // gone from the primary only
  EXPECT_FALSE(*plugin_->user_exists(user));
  auto gone = plugin_->user_gone(user);
  ASSERT_TRUE(gone.ok()) << gone.err().message;
  EXPECT_FALSE(*gone);
  ASSERT_TRUE(plugin_->delete_user({user, {}}).ok());
  EXPECT_TRUE(*plugin_->user_gone(user));
}

}  // namespace
