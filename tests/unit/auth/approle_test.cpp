// AppRole's secret-ID accessors: stored only as HMACs, and a layout 1 store (clear accessors in
// the keys) upgraded in place.
#include "broker/auth/approle.hpp"

#include <gtest/gtest.h>

#include "support/test_store.hpp"
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

  test::test_store store_;
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

TEST_F(approle, cidr_bindings_decide_logins_from_each_address) {
  approle_role r;
  r.name = "bound";
  r.secret_id_bound_cidrs = {"10.0.0.0/8"};
  r.token_bound_cidrs = {"10.1.0.0/16"};
  ASSERT_TRUE(backend_.write_role(r));
  const std::string role_id = (*backend_.read_role("bound"))->role_id;
  auto plain = backend_.create_secret_id("bound", {}, std::nullopt, std::nullopt);
  ASSERT_TRUE(plain);
  auto narrow = backend_.create_secret_id("bound", {}, std::nullopt, std::int64_t{2}, std::nullopt,
                                          {{"10.2.0.0/16"}, {"10.1.2.3"}});
  ASSERT_TRUE(narrow) << narrow.err().message;
  struct row {
    const char* name;
    const secret* secret_id;
    const char* from;
    std::string error;  // "" = logs in
    std::vector<std::string> token_cidrs;
  };
  const row rows[] = {
      {"the role's block", &plain->secret_id, "10.9.9.9", "", {"10.1.0.0/16"}},
      {"outside the role's block", &plain->secret_id, "127.0.0.1",
       "source address \"127.0.0.1\" unauthorized by CIDR restrictions on the role", {}},
      {"no known address", &plain->secret_id, "", "source address \"\" unauthorized by CIDR restrictions on the role", {}},
      {"inside the role's, outside the secret ID's", &narrow->secret_id, "10.9.9.9",
       "source address \"10.9.9.9\" unauthorized by CIDR restrictions on the secret ID", {}},
      {"the secret ID's block; its token_bound_cidrs win", &narrow->secret_id, "10.2.0.1", "", {"10.1.2.3"}},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    auto t = backend_.login(role_id, *row.secret_id, row.from);
    if (row.error.empty()) {
      ASSERT_TRUE(t) << t.err().message;
      EXPECT_EQ(t->entry.bound_cidrs, row.token_cidrs);
    } else {
      ASSERT_FALSE(t);
      EXPECT_EQ(t.err().message, row.error);
    }
  }
  // The refused login spent nothing: one of the two uses is left.
  auto left = backend_.lookup_secret_id("bound", narrow->secret_id);
  ASSERT_TRUE(left && left->has_value());
  EXPECT_EQ((*left)->num_uses, 1);
}

TEST_F(approle, secret_id_bindings_must_lie_within_the_roles_and_be_valid) {
  approle_role r;
  r.name = "bound";
  r.secret_id_bound_cidrs = {"10.0.0.0/8"};
  r.token_bound_cidrs = {"10.1.0.0/16"};
  ASSERT_TRUE(backend_.write_role(r));
  struct row {
    const char* name;
    secret_id_bindings b;
    std::string error_start;
  };
  const row rows[] = {
      {"cidr_list outside", {{"11.0.0.0/8"}, {}}, "failed to verify subset relationship between CIDR blocks on the role"},
      {"token_bound_cidrs outside", {{}, {"10.2.0.0/16"}},
       "failed to verify subset relationship between the token bound CIDR blocks on the role"},
      {"a bad block", {{"10.0.0.300/8"}, {}}, "failed to validate CIDR blocks: invalid CIDR address: 10.0.0.300/8"},
      {"a bare address where a block is needed", {{"10.0.0.1"}, {}}, "failed to validate CIDR blocks: invalid CIDR address: 10.0.0.1"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    auto s = backend_.create_secret_id("bound", {}, std::nullopt, std::nullopt, std::nullopt, row.b);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().message.rfind(row.error_start, 0), 0u) << s.err().message;
  }
  approle_role bad;
  bad.name = "bad";
  bad.token_bound_cidrs = {"300.0.0.0/8"};
  auto w = backend_.write_role(bad);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.err().message, "failed to validate CIDR blocks: invalid CIDR address: 300.0.0.0/8");
}

TEST_F(approle, tidy_removes_expired_secret_ids_and_their_accessors) {
  auto keep = issue();
  auto gone = backend_.create_secret_id("app", {}, std::chrono::seconds(60), std::nullopt);
  ASSERT_TRUE(gone);
  clock_.advance(std::chrono::seconds(61));
  auto n = backend_.tidy_secret_ids();
  ASSERT_TRUE(n) << n.err().message;
  EXPECT_EQ(*n, 1u);
  auto listed = backend_.list_secret_id_accessors("app");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, std::vector<std::string>{keep.info.accessor});
  EXPECT_FALSE(backend_.lookup_secret_id_accessor("app", gone->info.accessor)->has_value());
  std::size_t accessor_entries = 0;
  for (const auto& [k, v] : store_.snapshot()) accessor_entries += k.rfind("auth/method/m1/accessor/", 0) == 0 ? 1 : 0;
  EXPECT_EQ(accessor_entries, 1u);
  EXPECT_EQ(*backend_.tidy_secret_ids(), 0u);
}

TEST_F(approle, a_token_bound_to_cidrs_works_only_from_them_and_a_refusal_spends_no_use) {
  token_request tr;
  tr.policies = std::vector<std::string>{"app"};
  tr.bound_cidrs = {"10.0.0.0/8"};
  tr.num_uses = 2;
  auto t = tokens_.create(nullptr, true, tr);
  ASSERT_TRUE(t) << t.err().message;
  const auto outside = tokens_.authenticate_from(t->token, "127.0.0.1");
  EXPECT_FALSE(outside.caller);
  EXPECT_TRUE(outside.address_refused);
  EXPECT_FALSE(tokens_.authenticate(t->token));  // no address: refused too
  EXPECT_TRUE(tokens_.authenticate_from(t->token, "10.0.0.1").caller);
  EXPECT_TRUE(tokens_.authenticate_from(t->token, "10.0.0.2").caller);  // the second of two uses
  EXPECT_FALSE(tokens_.authenticate_from(t->token, "10.0.0.1").caller);  // spent
}

}  // namespace
}  // namespace credbroker::auth
