// auth/token/roles and auth/token/create/:role through the whole API pipeline, checked against
// Vault's answers: CRUD, the policy rules, orphan and period without sudo, the lesser period, path
// suffix, renewability, uses, and roles surviving a new token store over the same storage.
#include <gtest/gtest.h>

#include "broker/mounts/auth_mounts.hpp"
#include "api/service.hpp"
#include "support/test_store.hpp"
#include "support/api_call.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class token_roles_api : public testing::Test {
 protected:
  token_roles_api() {
    root_ = tokens_->create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    rebuild();
  }
  void rebuild() {
    svc_ = std::make_unique<api::service>(
        api::services{node_, *tokens_, nullptr, nullptr, &clock_, &policies_, tokens_.get(), nullptr});
  }

  using answer = test::api_answer;
  answer call(const std::string& method, const std::string& path, const std::string& token, json body = nullptr) {
    return test::call_api(*svc_, method, path, token, body);
  }
  void policy(const std::string& name, const std::string& text) {
    ASSERT_EQ(call("PUT", "sys/policy/" + name, root_, {{"policy", text}}).status, 204);
  }

  test::test_store store_;
  fake_clock clock_;
  fixed_node_status node_{credbroker::test::unsealed()};
  std::unique_ptr<auth::token_store> tokens_ = std::make_unique<auth::token_store>(store_, clock_);
  auth::policy_store policies_{store_};
  std::unique_ptr<api::service> svc_;
  std::string root_;
};

TEST_F(token_roles_api, roles_are_written_read_listed_and_deleted_as_vault_does) {
  EXPECT_EQ(call("LIST", "auth/token/roles", root_).status, 404);
  EXPECT_EQ(call("GET", "auth/token/roles/ci", root_).status, 404);
  ASSERT_EQ(call("POST", "auth/token/roles/ci", root_,
                 {{"allowed_policies", "Dev, qa"}, {"disallowed_policies_glob", {"adm*"}}, {"orphan", true},
                  {"period", "1h"}, {"path_suffix", "rev2"}, {"allowed_entity_aliases", "Web-*"}})
                .status,
            204);
  const auto read = call("GET", "auth/token/roles/ci", root_);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.body["data"], json({{"allowed_entity_aliases", {"web-*"}},
                                     {"allowed_policies", {"dev", "qa"}},
                                     {"allowed_policies_glob", json::array()},
                                     {"disallowed_policies", json::array()},
                                     {"disallowed_policies_glob", {"adm*"}},
                                     {"explicit_max_ttl", 0},
                                     {"name", "ci"},
                                     {"orphan", true},
                                     {"path_suffix", "rev2"},
                                     {"period", 3600},
                                     {"renewable", true},
                                     {"token_bound_cidrs", json::array()},
                                     {"token_explicit_max_ttl", 0},
                                     {"token_no_default_policy", false},
                                     {"token_period", 3600},
                                     {"token_type", "default-service"}}));
  // An update keeps what it does not name; token_period wins over period, with Vault's warning.
  const auto both = call("POST", "auth/token/roles/ci", root_, {{"token_period", "30m"}, {"period", "2h"}});
  ASSERT_EQ(both.status, 200);
  EXPECT_EQ(both.body["warnings"], json({"Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value"}));
  const auto again = call("GET", "auth/token/roles/ci", root_).body["data"];
  EXPECT_EQ(again["token_period"], 1800);
  EXPECT_EQ(again["period"], 0);
  EXPECT_EQ(again["orphan"], true);
  ASSERT_EQ(call("POST", "auth/token/roles/other", root_, {{"token_explicit_max_ttl", "2h"}}).status, 204);
  EXPECT_EQ(call("LIST", "auth/token/roles", root_).body["data"]["keys"], json({"ci", "other"}));

  struct bad {
    json body;
    const char* error;
  };
  for (const auto& b : std::vector<bad>{
           {{{"path_suffix", "a/b"}}, "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w"},
           {{{"path_suffix", "abc..def"}}, "error registering path suffix: path cannot contain parent references"},
           {{{"token_type", "batch"}}, "token_type \"batch\" is not supported: credbroker issues service tokens only"},
           {{{"token_type", "nope"}}, "invalid 'token_type' value \"nope\""},
           {{{"token_bound_cidrs", "10.0.0.0/33"}}, "failed to validate CIDR blocks: invalid CIDR address: 10.0.0.0/33"},
           {{{"bound_cidrs", "nope"}}, "failed to validate CIDR blocks: invalid CIDR address: nope"},
           {{{"period", "soon"}}, nullptr}}) {
    SCOPED_TRACE(b.body.dump());
    const auto a = call("POST", "auth/token/roles/bad", root_, b.body);
    EXPECT_EQ(a.status, 400) << a.body.dump();
    if (b.error != nullptr) {
      EXPECT_EQ(a.body["errors"][0], b.error);
    }
  }
  EXPECT_EQ(call("GET", "auth/token/roles/bad", root_).status, 404);  // nothing half-written
  EXPECT_EQ(call("DELETE", "auth/token/roles/other", root_).status, 204);
  EXPECT_EQ(call("LIST", "auth/token/roles", root_).body["data"]["keys"], json({"ci"}));
}

TEST_F(token_roles_api, creating_against_a_role_bounds_the_token_without_sudo) {
  policy("creator", R"(path "auth/token/create/ci" { capabilities = ["update"] })");
  for (const char* p : {"dev", "qa", "admin"}) policy(p, R"(path "x" { capabilities = ["read"] })");
  ASSERT_EQ(call("POST", "auth/token/roles/ci", root_,
                 {{"allowed_policies", "dev,qa"}, {"orphan", true}, {"token_period", "1h"}, {"path_suffix", "rev2"},
                  {"token_num_uses", 5}})
                .status,
            204);
  const std::string creator = call("POST", "auth/token/create", root_, {{"policies", {"creator"}}}).body["auth"]["client_token"];

  // Not a subset of the caller's policies, orphan and periodic: the role allows it, no sudo needed.
  const auto made = call("POST", "auth/token/create/ci", creator, {{"policies", {"dev"}}, {"num_uses", 9}});
  ASSERT_EQ(made.status, 200) << made.body.dump();
  EXPECT_EQ(made.body["auth"]["policies"], json({"default", "dev"}));
  EXPECT_EQ(made.body["auth"]["orphan"], true);
  EXPECT_EQ(made.body["auth"]["lease_duration"], 3600);
  EXPECT_EQ(made.body["auth"]["num_uses"], 5);  // the role's fewer uses win
  const std::string child = made.body["auth"]["client_token"];
  const auto look = call("POST", "auth/token/lookup", root_, {{"token", child}}).body["data"];
  EXPECT_EQ(look["path"], "auth/token/create/ci/rev2");
  EXPECT_EQ(look["role"], "ci");
  EXPECT_EQ(look["period"], 3600);

  // Nothing asked: the role's allowed policies.
  EXPECT_EQ(call("POST", "auth/token/create/ci", creator, json::object()).body["auth"]["policies"], json({"default", "dev", "qa"}));
  // Outside the role, Vault's words.
  const auto outside = call("POST", "auth/token/create/ci", creator, {{"policies", {"admin"}}});
  EXPECT_EQ(outside.status, 400);
  EXPECT_EQ(outside.body["errors"][0],
            "token policies ([\"admin\" \"default\"]) must be subset of the role's allowed policies ([\"default\" \"dev\" \"qa\"]) or glob policies ([])");
  // A period in the request still needs sudo; root gets the lesser of the two, with a warning.
  EXPECT_EQ(call("POST", "auth/token/create/ci", creator, {{"period", "10m"}}).body["errors"][0],
            "root or sudo privileges required to create periodic token");
  const auto lesser = call("POST", "auth/token/create/ci", root_, {{"period", "10m"}});
  EXPECT_EQ(lesser.body["auth"]["lease_duration"], 600);
  EXPECT_EQ(lesser.body["warnings"], json({"Period specified both during creation call and in role; using the lesser value of 600 seconds"}));
  // Only the role's own path is granted.
  EXPECT_EQ(call("POST", "auth/token/create/other", creator, json::object()).status, 403);
  EXPECT_EQ(call("POST", "auth/token/create/missing", root_, json::object()).body["errors"][0], "unknown role missing");
}

TEST_F(token_roles_api, a_role_without_policy_lists_keeps_the_parents_rules) {
  policy("dev", R"(path "auth/token/create/*" { capabilities = ["update"] })");
  policy("admin", R"(path "x" { capabilities = ["read"] })");
  ASSERT_EQ(call("POST", "auth/token/roles/plain", root_, {{"renewable", false}, {"token_explicit_max_ttl", "1h"}}).status, 204);
  const std::string dev = call("POST", "auth/token/create", root_, {{"policies", {"dev"}}}).body["auth"]["client_token"];
  EXPECT_EQ(call("POST", "auth/token/create/plain", dev, {{"policies", {"admin"}}}).body["errors"][0],
            "child policies must be subset of parent");
  const auto ok = call("POST", "auth/token/create/plain", dev, {{"ttl", "2h"}});
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["auth"]["policies"], json({"default", "dev"}));
  EXPECT_EQ(ok.body["auth"]["renewable"], false);
  EXPECT_EQ(ok.body["auth"]["orphan"], false);
  EXPECT_EQ(ok.body["auth"]["lease_duration"], 3600);  // capped by the role's explicit max TTL
}

TEST_F(token_roles_api, roles_survive_a_new_token_store_over_the_same_storage) {
  ASSERT_EQ(call("POST", "auth/token/roles/keep", root_, {{"allowed_policies", "dev"}}).status, 204);
  tokens_ = std::make_unique<auth::token_store>(store_, clock_);
  rebuild();
  EXPECT_EQ(call("GET", "auth/token/roles/keep", root_).body["data"]["allowed_policies"], json({"dev"}));
  bool stored = false;
  for (const auto& [k, v] : store_.snapshot()) stored = stored || k == "auth/token/roles/keep";
  EXPECT_TRUE(stored);
}

TEST_F(token_roles_api, a_roles_token_bound_cidrs_bind_its_tokens_to_the_client_address) {
  ASSERT_EQ(call("POST", "auth/token/roles/net", root_, {{"token_bound_cidrs", "10.0.0.0/8, 192.0.2.7"}}).status, 204);
  EXPECT_EQ(call("GET", "auth/token/roles/net", root_).body["data"]["token_bound_cidrs"], json({"10.0.0.0/8", "192.0.2.7"}));
  const auto made = call("POST", "auth/token/create/net", root_, json::object());
  ASSERT_EQ(made.status, 200) << made.body.dump();
  const std::string token = made.body["auth"]["client_token"];
  struct row {
    const char* remote;
    int status;
  };
  for (const auto& r : {row{"10.1.2.3:4000", 200}, row{"192.0.2.7:4000", 200}, row{"127.0.0.1:4000", 403}, row{"", 403}}) {
    SCOPED_TRACE(r.remote);
    const auto a = test::call_api(*svc_, "GET", "auth/token/lookup-self", token, nullptr, {}, r.remote);
    EXPECT_EQ(a.status, r.status) << a.body.dump();
    if (r.status == 403) {
      // Vault's CheckToken: permission denied, without "invalid token" (the token is fine elsewhere).
      EXPECT_EQ(a.body, json({{"errors", {"1 error occurred:\n\t* permission denied\n\n"}}}));
    } else {
      EXPECT_EQ(a.body["data"]["bound_cidrs"], json({"10.0.0.0/8", "192.0.2.7"}));
    }
  }
}

}  // namespace
