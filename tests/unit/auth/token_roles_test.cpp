// The policy rules of auth/token/create/:role (Vault's handleCreateCommon) and go-glob matching.
#include "broker/auth/token_roles.hpp"

#include <gtest/gtest.h>

namespace credbroker::auth {
namespace {

using strings = std::vector<std::string>;

TEST(token_roles, glob_match_is_go_glob) {
  struct row {
    const char* pattern;
    const char* value;
    bool match;
  };
  for (const auto& c : std::vector<row>{{"*", "", true},       {"dev*", "dev-1", true}, {"dev*", "de", false},
                                        {"*-ro", "app-ro", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false},
                                        {"adm*n", "admin", true}, {"exact", "exact", true}, {"exact", "exactly", false},
                                        {"a**", "a", true},     {"*x*", "yxy", true},     {"ab*ba", "aba", false}}) {
    SCOPED_TRACE(std::string(c.pattern) + " ~ " + c.value);
    EXPECT_EQ(glob_match(c.pattern, c.value), c.match);
  }
}

TEST(token_roles, role_policies_follow_vaults_rules) {
  struct row {
    const char* name;
    token_role role;
    strings requested;
    strings parent;
    bool no_default;
    strings want;         // when the request passes
    const char* error;    // else
  };
  auto role = [](strings allowed, strings disallowed, strings allowed_glob = {}, strings disallowed_glob = {}) {
    token_role r;
    r.allowed_policies = std::move(allowed);
    r.disallowed_policies = std::move(disallowed);
    r.allowed_policies_glob = std::move(allowed_glob);
    r.disallowed_policies_glob = std::move(disallowed_glob);
    return r;
  };
  token_role no_default_role = role({"dev"}, {});
  no_default_role.token_no_default_policy = true;
  const std::vector<row> rows = {
      {"allowed, nothing asked: the role's, with default", role({"dev", "qa"}, {}), {}, {"default"}, false,
       {"default", "dev", "qa"}, nullptr},
      {"allowed beats the parent: escalation by design", role({"admin"}, {}), {"admin"}, {"default"}, false,
       {"admin", "default"}, nullptr},
      {"outside allowed", role({"dev"}, {}), {"prod"}, {"prod"}, false, {},
       "token policies ([\"default\" \"prod\"]) must be subset of the role's allowed policies ([\"default\" \"dev\"]) or glob policies ([])"},
      {"allowed by glob", role({}, {}, {"team-*"}), {"team-a"}, {}, false, {"default", "team-a"}, nullptr},
      {"glob role, nothing asked: default alone", role({}, {}, {"team-*"}), {}, {"x"}, false, {"default"}, nullptr},
      {"disallowed only: the parent's", role({}, {"prod"}), {}, {"dev", "default"}, false, {"default", "dev"}, nullptr},
      {"disallowed only, asked outside the parent: allowed", role({}, {"prod"}), {"other"}, {"dev"}, false,
       {"default", "other"}, nullptr},
      {"disallowed exactly", role({}, {"prod"}), {"prod"}, {}, false, {}, "token policy \"prod\" is disallowed by this role"},
      {"disallowed by glob", role({}, {}, {}, {"adm*"}), {"admin"}, {}, false, {}, "token policy \"admin\" is disallowed by this role"},
      {"default disallowed: never added", role({"dev"}, {"default"}), {}, {}, false, {"dev"}, nullptr},
      {"default asked though disallowed", role({"dev", "default"}, {"default"}), {"default"}, {}, false, {},
       "token policy \"default\" is disallowed by this role"},
      {"no_default_policy from the request", role({"dev"}, {}), {}, {}, true, {"dev"}, nullptr},
      {"no_default_policy from the role", no_default_role, {}, {}, false, {"dev"}, nullptr},
      {"names sanitised", role({"dev"}, {}), {" DEV "}, {}, false, {"default", "dev"}, nullptr},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    auto got = role_policies(r.role, r.requested, r.parent, r.no_default);
    if (r.error == nullptr) {
      ASSERT_TRUE(got) << got.err().message;
      EXPECT_EQ(*got, r.want);
    } else {
      ASSERT_FALSE(got);
      EXPECT_EQ(got.err().message, r.error);
    }
  }
}

TEST(token_roles, roles_round_trip_through_json) {
  token_role r;
  r.name = "ci";
  r.allowed_policies = {"dev"};
  r.disallowed_policies_glob = {"adm*"};
  r.orphan = true;
  r.renewable = false;
  r.path_suffix = "v2";
  r.token_period = 3600;
  r.token_explicit_max_ttl = 7200;
  r.token_num_uses = 3;
  const auto back = token_role_from_json(to_json(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), to_json(r));
  EXPECT_FALSE(token_role_from_json("[]"));
  EXPECT_FALSE(token_role_from_json(R"({"allowed_policies": 3})"));
}

}  // namespace
}  // namespace credbroker::auth
