// allowed_parameters, denied_parameters and required_parameters, decided as Vault's acl.go does:
// one table of (policies, operation, data) -> allowed, and the merging rules across policies.
#include "broker/auth/policy_parameters.hpp"

#include <gtest/gtest.h>

#include "broker/auth/policy.hpp"

namespace credbroker::auth {
namespace {

using nlohmann::json;
using op = acl_operation;

std::shared_ptr<const policy> parsed(const std::string& name, const std::string& text) {
  auto p = parse_policy(name, text);
  EXPECT_TRUE(p) << (p ? "" : p.err().message);
  return std::make_shared<const policy>(p ? *p : policy{});
}

const std::map<std::string, std::string> library = {
    {"allowed", R"(path "db/roles/*" {
       capabilities = ["create", "update", "read", "list", "delete", "patch"]
       allowed_parameters = {
         "db_name" = ["dev", "qa-*", "*-test", "*mid*"]
         "default_ttl" = []
         "Max_TTL" = [3600, "1h"]
         "renew" = [true]
       }
     })"},
    {"allow-all", R"(path "db/roles/*" {
       capabilities = ["update"]
       allowed_parameters = { "*" = [] }
     })"},
    {"allow-star-and-one", R"(path "db/roles/*" {
       capabilities = ["update"]
       allowed_parameters = { "*" = [], "db_name" = ["dev"] }
     })"},
    {"denied", R"(path "db/roles/*" {
       capabilities = ["update", "read"]
       denied_parameters = { "creation_statements" = [], "db_name" = ["prod", "prod-*"] }
     })"},
    {"deny-all", R"(path "db/roles/*" {
       capabilities = ["update"]
       denied_parameters = { "*" = [] }
     })"},
    {"both", R"(path "db/roles/*" {
       capabilities = ["update"]
       allowed_parameters = { "db_name" = [] }
       denied_parameters = { "db_name" = ["prod"] }
     })"},
    {"required", R"(path "db/roles/*" {
       capabilities = ["update", "read", "delete"]
       required_parameters = ["DB_NAME", "ttl"]
     })"},
    {"open", R"(path "db/roles/*" { capabilities = ["update"] })"},
    {"allowed-more", R"(path "db/roles/*" {
       capabilities = ["update"]
       allowed_parameters = { "db_name" = ["prod"], "max_ttl" = [] }
     })"},
    {"allowed-any-name", R"(path "db/roles/*" {
       capabilities = ["update"]
       allowed_parameters = { "db_name" = [] }
     })"},
    {"required-other", R"(path "db/roles/*" {
       capabilities = ["update"]
       required_parameters = ["username"]
     })"},
    {"denier", R"(path "db/roles/*" { capabilities = ["deny"] })"},
    {"policies-list", R"(path "auth/token/create" {
       capabilities = ["update"]
       allowed_parameters = { "policies" = ["dev", "qa"], "ttl" = [] }
     })"},
    {"policies-denied", R"(path "auth/token/create" {
       capabilities = ["update"]
       denied_parameters = { "policies" = ["admin"] }
     })"},
};

struct param_case {
  std::vector<std::string> policies;
  op operation;
  json data;
  bool allowed;
};

TEST(acl_parameters, decide_as_vault) {
  const std::vector<param_case> cases = {
      // allowed_parameters: listed names only, values from the list (globs), [] = any value
      {{"allowed"}, op::update, {{"db_name", "dev"}}, true},
      {{"allowed"}, op::update, {{"db_name", "prod"}}, false},
      {{"allowed"}, op::update, {{"db_name", "qa-1"}}, true},       // trailing '*'
      {{"allowed"}, op::update, {{"db_name", "x-test"}}, true},     // leading '*'
      {{"allowed"}, op::update, {{"db_name", "amidb"}}, true},      // '*' both ends
      {{"allowed"}, op::update, {{"db_name", "qa"}}, false},
      {{"allowed"}, op::update, {{"db_name", "dev"}, {"default_ttl", "anything"}}, true},
      {{"allowed"}, op::update, {{"db_name", "dev"}, {"other", 1}}, false},  // not listed
      {{"allowed"}, op::update, {{"MAX_TTL", 3600}}, true},          // names compare lower-cased
      {{"allowed"}, op::update, {{"max_ttl", "1h"}}, true},
      {{"allowed"}, op::update, {{"max_ttl", 60}}, false},
      {{"allowed"}, op::update, {{"renew", true}}, true},
      {{"allowed"}, op::update, {{"renew", false}}, false},
      {{"allowed"}, op::update, {{"db_name", "dev,qa-2"}}, true},    // comma items: all must pass
      {{"allowed"}, op::update, {{"db_name", "dev,prod"}}, false},
      {{"allowed"}, op::update, {{"db_name", json::array({"dev", "qa-3"})}}, true},  // list items: all
      {{"allowed"}, op::update, {{"db_name", json::array({"dev", "prod"})}}, false},
      {{"allowed"}, op::update, json::object(), true},                // no data: allowed
      {{"allowed"}, op::create, {{"db_name", "prod"}}, false},
      {{"allowed"}, op::patch, {{"db_name", "prod"}}, false},
      {{"allowed"}, op::read, {{"db_name", "prod"}}, false},          // a read's query counts
      {{"allowed"}, op::list, {{"db_name", "prod"}}, true},           // list and delete: no data check
      {{"allowed"}, op::remove, {{"db_name", "prod"}}, true},
      {{"allow-all"}, op::update, {{"anything", "at all"}}, true},
      {{"allow-star-and-one"}, op::update, {{"other", "x"}}, true},   // "*" lets unlisted names in
      {{"allow-star-and-one"}, op::update, {{"db_name", "prod"}}, false},  // a listed one still judged
      // denied_parameters: [] = any value; "*" = any data at all
      {{"denied"}, op::update, {{"creation_statements", "x"}}, false},
      {{"denied"}, op::update, {{"db_name", "prod"}}, false},
      {{"denied"}, op::update, {{"db_name", "prod-eu"}}, false},
      {{"denied"}, op::update, {{"db_name", "dev"}}, true},
      {{"denied"}, op::update, {{"db_name", "dev, prod"}}, false},    // any comma item denied
      {{"denied"}, op::update, {{"db_name", json::array({"dev", "prod"})}}, false},
      {{"denied"}, op::update, {{"DB_NAME", "prod"}}, false},
      {{"denied"}, op::update, {{"other", "prod"}}, true},
      {{"denied"}, op::read, {{"db_name", "prod"}}, false},
      {{"deny-all"}, op::update, {{"x", 1}}, false},
      {{"deny-all"}, op::update, json::object(), true},
      // denied beats allowed
      {{"both"}, op::update, {{"db_name", "dev"}}, true},
      {{"both"}, op::update, {{"db_name", "prod"}}, false},
      // required_parameters: each must be there (looked up lower-cased), even with no other data
      {{"required"}, op::update, {{"db_name", "x"}, {"ttl", 1}}, true},
      {{"required"}, op::update, {{"db_name", "x"}}, false},
      {{"required"}, op::update, json::object(), false},
      {{"required"}, op::read, {{"db_name", "x"}, {"ttl", 1}}, true},
      {{"required"}, op::remove, json::object(), true},
      // merged across policies: lists concatenate, [] wins, required unions, no-constraint adds none
      {{"allowed", "allowed-more"}, op::update, {{"db_name", "prod"}}, true},
      {{"allowed", "allowed-more"}, op::update, {{"max_ttl", 60}}, true},
      {{"allowed", "allowed-more"}, op::update, {{"db_name", "other"}}, false},
      {{"allowed", "allowed-any-name"}, op::update, {{"db_name", "other"}}, true},
      {{"allowed", "open"}, op::update, {{"db_name", "other"}}, false},
      {{"open", "allowed"}, op::update, {{"db_name", "other"}}, false},
      {{"required", "required-other"}, op::update, {{"db_name", 1}, {"ttl", 1}}, false},
      {{"required", "required-other"}, op::update, {{"db_name", 1}, {"ttl", 1}, {"username", "u"}}, true},
      {{"denied", "allowed"}, op::update, {{"db_name", "prod"}}, false},
      {{"allowed", "denier"}, op::update, {{"db_name", "dev"}}, false},
      // the typical token-create guard
      {{"policies-list"}, op::update, {{"policies", json::array({"dev"})}, {"ttl", "1h"}}, true},
      {{"policies-list"}, op::update, {{"policies", "dev,qa"}}, true},
      {{"policies-list"}, op::update, {{"policies", "dev,admin"}}, false},
      {{"policies-list"}, op::update, {{"policies", json::array({"admin"})}}, false},
      {{"policies-denied"}, op::update, {{"policies", json::array({"dev", "admin"})}}, false},
      {{"policies-denied"}, op::update, {{"policies", json::array({"dev"})}}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.policies) + " " + std::to_string(static_cast<int>(c.operation)) + " " +
                 c.data.dump());
    std::vector<std::shared_ptr<const policy>> ps;
    for (const auto& n : c.policies) ps.push_back(parsed(n, library.at(n)));
    const acl a(ps);
    const std::string path = c.policies[0].rfind("policies", 0) == 0 ? "auth/token/create" : "db/roles/app";
    EXPECT_EQ(a.check(c.operation, path, c.data).allowed, c.allowed);
  }
}

TEST(acl_parameters, parse_in_hcl_block_and_json_forms_alike) {
  const auto h = parse_policy("p", R"(path "a" {
    capabilities = ["update"]
    allowed_parameters { "X" = ["1"], y = "one" }
    required_parameters = "x"
  })");
  const auto j = parse_policy(
      "p", R"({"path": {"a": {"capabilities": ["update"], "allowed_parameters": {"X": ["1"], "y": ["one"]},
                              "required_parameters": ["x"]}}})");
  ASSERT_TRUE(h && j) << (h ? "" : h.err().message) << (j ? "" : j.err().message);
  for (const auto* p : {&*h, &*j}) {
    SCOPED_TRACE(p->raw);
    ASSERT_EQ(p->rules.size(), 1u);
    const auto& params = p->rules[0].params;
    EXPECT_EQ(params.allowed.at("x"), std::vector<json>{"1"});
    EXPECT_EQ(params.allowed.at("y"), std::vector<json>{"one"});
    EXPECT_EQ(params.required, std::vector<std::string>{"x"});
  }
}

TEST(acl_parameters, a_path_repeated_in_one_policy_merges_like_two_policies) {
  const acl a({parsed("p", R"(
    path "a" { capabilities = ["update"], allowed_parameters = { "x" = ["1"] } }
    path "a" { capabilities = ["update"], allowed_parameters = { "x" = ["2"] } }
  )")});
  EXPECT_TRUE(a.check(op::update, "a", {{"x", "1"}}).allowed);
  EXPECT_TRUE(a.check(op::update, "a", {{"x", "2"}}).allowed);
  EXPECT_FALSE(a.check(op::update, "a", {{"x", "3"}}).allowed);
  // Capabilities alone still answer sys/capabilities.
  EXPECT_EQ(a.capabilities("a"), cap_update);
}

TEST(acl_parameters, glob_patterns_follow_vaults_globbed_strings_match) {
  parameter_rules r;
  r.allowed["v"] = {"*", "a*", "*z", "*m*"};
  struct row {
    const char* value;
    bool allowed;
  };
  for (const auto& c : std::vector<row>{{"*", true}, {"abc", true}, {"xyz", true}, {"xmx", true}, {"q", false}}) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(r.allow({{"v", c.value}}), c.allowed);
  }
}

}  // namespace
}  // namespace credbroker::auth
