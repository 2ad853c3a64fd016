// AppRole's secret-ID accessors: stored only as HMACs, and a layout 1 store (clear accessors in
// the keys) upgraded in place.
#include "broker/auth/approle.hpp"

#include <gtest/gtest.h>

#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/rename.hpp"

namespace credbroker::auth {
namespace {

class approle : public testing::Test {
 protected:
  approle() {
    EXPECT_TRUE(tokens_.create_root());  // a new store: makes the salt
    approle_role r;
    r.name = "app";
    r.token_policies = {"app"};
    EXPECT_TRUE(backend_.write_role(r));
  }
  issued_secret_id issue() {
    auto s = backend_.create_secret_id("app", {}, std::nullopt, std::nullopt);
    EXPECT_TRUE(s) << (s ? "" : s.err().message);
    return *s;
  }
  bool in_any_key(const std::string& needle) {
    for (const auto& [k, v] : store_.snapshot()) {
      if (k.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  storage::inmem_backend store_;
  fake_clock clock_;
  token_store tokens_{store_, clock_};
  approle_backend backend_{store_, tokens_, clock_, "auth/method/m1/", "approle/"};
};

TEST_F(approle, secret_id_accessors_are_never_storage_keys) {
  auto a = issue();
  auto b = issue();
  EXPECT_FALSE(in_any_key(a.info.accessor));
  EXPECT_FALSE(in_any_key(b.info.accessor));
  auto found = backend_.lookup_secret_id_accessor("app", a.info.accessor);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->accessor, a.info.accessor);
  auto listed = backend_.list_secret_id_accessors("app");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);
  ASSERT_TRUE(backend_.destroy_secret_id_accessor("app", a.info.accessor));
  EXPECT_FALSE(backend_.lookup_secret_id("app", a.secret_id)->has_value());
  EXPECT_TRUE(backend_.lookup_secret_id("app", b.secret_id)->has_value());
}

TEST_F(approle, a_layout_1_accessor_index_is_salted_in_place) {
  std::vector<issued_secret_id> issued;
  for (int i = 0; i < 3; ++i) issued.push_back(issue());
  // As the first release stored them: accessor/<accessor in clear>.
  ASSERT_TRUE(storage::rename_children(store_, "auth/method/m1/accessor/",
                                       [&](std::string_view hashed) -> result<std::optional<std::string>> {
                                         for (const auto& s : issued) {
                                           if (*tokens_.hash("secret-id-accessor:" + s.info.accessor) == hashed) {
                                             return std::optional<std::string>(s.info.accessor);
                                           }
                                         }
                                         return std::optional<std::string>();
                                       }));
  ASSERT_TRUE(in_any_key(issued[0].info.accessor));
  ASSERT_TRUE(approle_backend::salt_accessor_keys(store_, tokens_, "auth/method/"));
  const auto once = store_.snapshot();
  ASSERT_TRUE(approle_backend::salt_accessor_keys(store_, tokens_, "auth/method/"));  // idempotent
  EXPECT_EQ(store_.snapshot(), once);
  for (const auto& s : issued) {
    EXPECT_FALSE(in_any_key(s.info.accessor));
    auto found = backend_.lookup_secret_id_accessor("app", s.info.accessor);
    ASSERT_TRUE(found && found->has_value());
  }
  ASSERT_TRUE(backend_.destroy_secret_id_accessor("app", issued[1].info.accessor));
  EXPECT_FALSE(backend_.lookup_secret_id("app", issued[1].secret_id)->has_value());
  auto role_id = (*backend_.read_role("app"))->role_id;
  EXPECT_TRUE(backend_.login(role_id, issued[0].secret_id));
}

}  // namespace
}  // namespace credbroker::auth
