#include "broker/auth/policy.hpp"

#include <gtest/gtest.h>

namespace credbroker::auth {
namespace {

std::shared_ptr<const policy> parsed(const std::string& name, const std::string& text) {
  auto p = parse_policy(name, text);
  EXPECT_TRUE(p) << (p ? "" : p.err().message);
  return std::make_shared<const policy>(p ? *p : policy{});
}

struct bad_policy {
  const char* text;
  const char* error;
};
class policy_errors : public testing::TestWithParam<bad_policy> {};

TEST_P(policy_errors, are_precise) {
  auto p = parse_policy("x", GetParam().text);
  ASSERT_FALSE(p) << GetParam().text;
  EXPECT_EQ(p.err().message, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    table, policy_errors,
    testing::Values(
        bad_policy{"path \"a\" {\n  capabilities = [\"raed\"]\n}",
                   "line 2, column 19: invalid capability \"raed\" for path \"a\" (expected create, read, update, patch, delete, list, sudo or deny)"},
        bad_policy{"path \"a\" { capabilities = \"read\" }",
                   "line 1, column 27: capabilities for path \"a\" must be a list of strings, found a string"},
        bad_policy{"path \"a\" { capabilities = [1] }", "line 1, column 28: capabilities for path \"a\" must be strings, found a number"},
        bad_policy{"path \"a\" { policy = \"all\" }", "line 1, column 21: invalid policy \"all\" for path \"a\" (expected deny, read, write or sudo)"},
        bad_policy{"path \"a\" { capabilites = [\"read\"] }", "line 1, column 12: invalid key \"capabilites\" in path \"a\""},
        bad_policy{"path \"a\" {}", "line 1, column 6: path \"a\" has no capabilities"},
        bad_policy{"paths \"a\" { capabilities = [] }", "line 1, column 1: invalid key \"paths\" (expected path)"},
        bad_policy{"path \"a/*/b\" { capabilities = [\"read\"] }", "line 1, column 6: invalid path \"a/*/b\": '*' is only allowed at the end"},
        bad_policy{"path \"a\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = \"2m\"\n  max_wrapping_ttl = \"1m\"\n}",
                   "line 1, column 6: max_wrapping_ttl cannot be less than min_wrapping_ttl (path \"a\")"},
        bad_policy{"path \"a\" {\n  capabilities = [\"read\"]\n  max_wrapping_ttl = \"soon\"\n}",
                   "line 3, column 22: error parsing max_wrapping_ttl for path \"a\": time: invalid duration \"soon\""},
        bad_policy{"path \"a\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = [1]\n}",
                   "line 3, column 22: error parsing min_wrapping_ttl for path \"a\": expected a duration, found a list"},
        bad_policy{"path \"a\" {\n  capabilities = [\"read\"]\n  control_group = { ttl = 1 }\n}",
                   "line 3, column 3: \"control_group\" (path \"a\") is not supported by credbroker"},
        bad_policy{"path \"a\" { capabilities = [\"read\"], allowed_parameters = [\"x\"] }",
                   "line 1, column 58: allowed_parameters for path \"a\" must be a map of parameter names to lists of values, found a list"},
        bad_policy{"path \"a\" { capabilities = [\"read\"], required_parameters = [1] }",
                   "line 1, column 60: required_parameters for path \"a\" must be strings, found a number"},
        bad_policy{"path = \"a\"", "line 1, column 8: path must be followed by a quoted path and a block, found a string"},
        bad_policy{"path \"a\" = 3", "line 1, column 12: a key with labels must be followed by a block '{'"},
        bad_policy{"{\"path\": {\"a\": {\"capabilities\": [\"nope\"]}}}",
                   "invalid capability \"nope\" for path \"a\" (expected create, read, update, patch, delete, list, sudo or deny)"}));

// min/max_wrapping_ttl: durations or seconds; the winning rule's bounds come back with the
// decision; merged across policies as Vault's (the lesser non-zero bound of each kind).
TEST(policy, wrapping_ttl_bounds_are_parsed_merged_and_returned) {
  auto a = parse_policy("a", R"(
    path "database/creds/app" {
      capabilities = ["read"]
      min_wrapping_ttl = "1m"
      max_wrapping_ttl = 3600
    }
    path "secret/*" { capabilities = ["read"] })");
  auto b = parse_policy("b", R"({"path": {"database/creds/app": {"capabilities": ["read"], "min_wrapping_ttl": "30s",
                                  "max_wrapping_ttl": "2h"}}})");
  ASSERT_TRUE(a && b) << (a ? b.err().message : a.err().message);
  EXPECT_EQ(a->rules[0].min_wrapping_ttl, 60);
  EXPECT_EQ(a->rules[0].max_wrapping_ttl, 3600);
  const acl one({std::make_shared<const policy>(*a)});
  auto d = one.check(acl_operation::read, "database/creds/app");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.min_wrapping_ttl, 60);
  EXPECT_EQ(d.max_wrapping_ttl, 3600);
  EXPECT_EQ(one.check(acl_operation::read, "secret/x").max_wrapping_ttl, 0);
  const acl both({std::make_shared<const policy>(*a), std::make_shared<const policy>(*b)});
  d = both.check(acl_operation::read, "database/creds/app");
  EXPECT_EQ(d.min_wrapping_ttl, 30);
  EXPECT_EQ(d.max_wrapping_ttl, 3600);
}

TEST(policy, json_and_hcl_forms_are_equivalent) {
  auto h = parse_policy("p", "path \"secret/*\" { capabilities = [\"read\", \"list\"] }");
  auto j = parse_policy("p", R"({"path": {"secret/*": {"capabilities": ["read", "list"]}}})");
  auto jl = parse_policy("p", R"({"path": [{"secret/*": {"capabilities": ["read", "list"]}}]})");
  ASSERT_TRUE(h && j && jl);
  for (const auto* p : {&*h, &*j, &*jl}) {
    ASSERT_EQ(p->rules.size(), 1u);
    EXPECT_EQ(p->rules[0].path, "secret/*");
    EXPECT_EQ(p->rules[0].caps, cap_read | cap_list);
  }
}

TEST(policy, legacy_shorthands_and_deny_merging) {
  auto p = parse_policy("p", R"(
    path "/a" { policy = "write" }
    path "b" { policy = "sudo" }
    path "c" { capabilities = ["read"] }
    path "c" { capabilities = ["deny"] }
  )");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[0].path, "a");  // leading slash dropped
  EXPECT_EQ(p->rules[0].caps, cap_read | cap_list | cap_create | cap_update | cap_delete | cap_patch);
  EXPECT_TRUE(p->rules[1].caps & cap_sudo);
  EXPECT_EQ(p->rules[2].caps, cap_deny);
}

// The ACL matrix: one line per (policy set, operation, path) and the expected answer.
struct acl_case {
  std::vector<std::string> policies;
  acl_operation op;
  const char* path;
  bool allowed;
};

const std::map<std::string, std::string> library = {
    {"app", R"(path "database/creds/app" { capabilities = ["read"] })"},
    {"admin", R"(
      path "database/*" { capabilities = ["create", "read", "update", "delete", "list"] }
      path "database/config/prod" { capabilities = ["read"] }
      path "sys/leases/*" { capabilities = ["update", "sudo"] }
    )"},
    {"denier", R"(path "database/creds/app" { capabilities = ["deny"] })"},
    {"segments", R"(
      path "database/+/app" { capabilities = ["read"] }
      path "database/creds/+" { capabilities = ["list"] }
      path "team/+/data*" { capabilities = ["update"] }
    )"},
    {"creator", R"(path "database/roles/*" { capabilities = ["create"] })"},
    {"lister", R"(path "database/roles" { capabilities = ["list"] })"},
};

class acl_matrix : public testing::TestWithParam<acl_case> {};

TEST_P(acl_matrix, decides_as_vault) {
  std::vector<std::shared_ptr<const policy>> ps;
  for (const auto& n : GetParam().policies) ps.push_back(parsed(n, library.at(n)));
  const acl a(ps);
  EXPECT_EQ(a.check(GetParam().op, GetParam().path).allowed, GetParam().allowed)
      << GetParam().path << " with " << testing::PrintToString(GetParam().policies);
}

using op = acl_operation;
INSTANTIATE_TEST_SUITE_P(
    table, acl_matrix,
    testing::Values(
        acl_case{{"app"}, op::read, "database/creds/app", true},
        acl_case{{"app"}, op::update, "database/creds/app", false},
        acl_case{{"app"}, op::read, "database/creds/app2", false},
        acl_case{{"app"}, op::read, "database/creds/ap", false},
        acl_case{{"app"}, op::read, "database/creds/app/x", false},
        acl_case{{"app"}, op::list, "database/creds/", false},
        acl_case{{"app"}, op::read, "sys/mounts", false},
        acl_case{{}, op::read, "database/creds/app", false},
        // glob and the more specific exact rule
        acl_case{{"admin"}, op::update, "database/config/dev", true},
        acl_case{{"admin"}, op::update, "database/config/prod", false},
        acl_case{{"admin"}, op::read, "database/config/prod", true},
        acl_case{{"admin"}, op::list, "database/roles/", true},
        acl_case{{"admin"}, op::read, "databases/x", false},
        // deny wins across policies on the same path
        acl_case{{"app", "denier"}, op::read, "database/creds/app", false},
        acl_case{{"admin", "denier"}, op::read, "database/creds/app", false},
        acl_case{{"admin", "denier"}, op::read, "database/creds/other", true},
        // union across policies
        acl_case{{"app", "lister"}, op::list, "database/roles/", true},
        acl_case{{"app", "lister"}, op::read, "database/creds/app", true},
        // '+' segments
        // both '+' rules match; "database/creds/+" (first wildcard later) wins and grants list only
        acl_case{{"segments"}, op::read, "database/creds/app", false},
        acl_case{{"segments"}, op::read, "database/roles/app", true},
        acl_case{{"segments"}, op::read, "database/creds/app/more", false},
        acl_case{{"segments"}, op::list, "database/creds/x", true},
        acl_case{{"segments"}, op::read, "database/creds/x", false},
        acl_case{{"segments"}, op::update, "team/a/data", true},
        acl_case{{"segments"}, op::update, "team/a/database/deep", true},
        acl_case{{"segments"}, op::update, "team/a/b/data", false},
        // create is not update
        acl_case{{"creator"}, op::create, "database/roles/new", true},
        acl_case{{"creator"}, op::update, "database/roles/new", false},
        // list of an exact path without its slash
        acl_case{{"lister"}, op::list, "database/roles/", true},
        acl_case{{"lister"}, op::read, "database/roles", false}));

TEST(acl, most_specific_rule_wins_in_vaults_order) {
  // "database/creds/*" (first wildcard at 15) beats "database/+/app" (first wildcard at 9).
  const acl a({parsed("p", R"(
    path "database/+/app" { capabilities = ["deny"] }
    path "database/creds/*" { capabilities = ["read"] }
  )")});
  EXPECT_TRUE(a.check(op::read, "database/creds/app").allowed);
  // Equal first wildcard: a rule not ending in '*' beats one that does.
  const acl b({parsed("p", R"(
    path "a/+/c" { capabilities = ["read"] }
    path "a/+/c*" { capabilities = ["deny"] }
  )")});
  EXPECT_TRUE(b.check(op::read, "a/b/c").allowed);
  // Then fewer '+' segments.
  const acl c({parsed("p", R"(
    path "a/+/+" { capabilities = ["deny"] }
    path "a/+/c" { capabilities = ["read"] }
  )")});
  EXPECT_TRUE(c.check(op::read, "a/b/c").allowed);
  // Then the longer prefix.
  const acl d({parsed("p", R"(
    path "a/b*" { capabilities = ["deny"] }
    path "a/bc*" { capabilities = ["read"] }
  )")});
  EXPECT_TRUE(d.check(op::read, "a/bcd").allowed);
  EXPECT_FALSE(d.check(op::read, "a/bx").allowed);
}

TEST(acl, root_allows_everything_and_sudo_is_reported) {
  const acl root({std::make_shared<const policy>(policy{"root", "", {}})});
  EXPECT_TRUE(root.check(op::remove, "anything/at/all").allowed);
  EXPECT_TRUE(root.check(op::remove, "anything/at/all").sudo);
  const acl admin({parsed("admin", library.at("admin"))});
  EXPECT_TRUE(admin.check(op::update, "sys/leases/revoke-prefix/x").sudo);
  EXPECT_FALSE(admin.check(op::update, "database/config/x").sudo);
  EXPECT_EQ(capability_names(admin.capabilities("database/config/prod")), std::vector<std::string>{"read"});
  EXPECT_EQ(capability_names(admin.capabilities("elsewhere")), std::vector<std::string>{"deny"});
}

TEST(policy, default_policy_parses_and_grants_self_service_only) {
  const acl a({parsed("default", std::string(default_policy_text()))});
  EXPECT_TRUE(a.check(op::read, "auth/token/lookup-self").allowed);
  EXPECT_TRUE(a.check(op::update, "sys/leases/renew").allowed);
  EXPECT_TRUE(a.check(op::update, "sys/renew").allowed);
  EXPECT_TRUE(a.check(op::update, "sys/leases/lookup").allowed);
  EXPECT_FALSE(a.check(op::update, "sys/leases/revoke").allowed);
  EXPECT_FALSE(a.check(op::update, "auth/token/create").allowed);
}

}  // namespace
}  // namespace credbroker::auth
