// The whole API pipeline with real token and policy stores: deny by default, create vs update,
// sudo paths, the token and policy endpoints, and AppRole — every answer checked against Vault's.
#include <gtest/gtest.h>

#include "broker/mounts/auth_mounts.hpp"
#include "api/service.hpp"
#include "support/api_call.hpp"
#include "support/seal.hpp"
#include "support/test_store.hpp"
#include "support/manual_time.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

using credbroker::test::unsealed;

struct no_db final : leases::revoker {
  status revoke(const leases::lease&) override { return ok_v; }
  status renew(const leases::lease&, time_point) override { return ok_v; }
};

const std::string denied = "1 error occurred:\n\t* permission denied\n\n";

class acl_api : public testing::Test {
 protected:
  acl_api() {
    root_ = tokens_.create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    tokens_.on_revoke([this](const std::string& accessor) { EXPECT_TRUE(leases_.expire_by_token(accessor)); });
    svc_ = std::make_unique<api::service>(
        api::services{node_, tokens_, nullptr, &leases_, &clock_, &policies_, &tokens_, &methods_});
  }

  using answer = test::api_answer;
  answer call(const std::string& method, const std::string& path, const std::string& token, json body = nullptr) {
    return test::call_api(*svc_, method, path, token, body);
  }
  std::string token_with(const std::vector<std::string>& policies) {
    auto a = call("POST", "auth/token/create", root_, {{"policies", policies}});
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return a.body["auth"]["client_token"].get<std::string>();
  }

  test::test_store store_;
  fake_clock clock_;
  fixed_node_status node_{unsealed()};
  auth::token_store tokens_{store_, clock_};
  auth::policy_store policies_{store_};
  no_db revoker_;
  test::manual_time time_{clock_};
  leases::lease_manager leases_{store_, revoker_, clock_, time_.sched, time_.exec};
  mounts::auth_mounts methods_{store_, tokens_, clock_};
  std::unique_ptr<api::service> svc_;
  std::string root_;
};

TEST_F(acl_api, a_token_limited_to_one_creds_path_is_refused_everywhere_else) {
  ASSERT_EQ(call("PUT", "sys/policy/app", root_, {{"policy", R"(path "database/creds/app" { capabilities = ["read"] })"}}).status, 204);
  const std::string app = token_with({"app"});
  // Its one path passes the ACL (no database mount yet: 404 from the router, after the ACL).
  EXPECT_EQ(call("GET", "database/creds/app", app).status, 404);
  struct probe {
    const char* method;
    const char* path;
  };
  for (const auto& p : std::vector<probe>{{"GET", "database/creds/other"},
                                          {"POST", "database/creds/app"},
                                          {"DELETE", "database/creds/app"},
                                          {"LIST", "database/creds"},
                                          {"GET", "database/config/db"},
                                          {"POST", "database/roles/app"},
                                          {"GET", "sys/mounts"},
                                          {"GET", "sys/policy"},
                                          {"PUT", "sys/policy/app"},
                                          {"GET", "sys/policies/acl/app"},
                                          {"GET", "sys/auth"},
                                          {"POST", "sys/auth/approle"},
                                          {"PUT", "sys/seal"},
                                          {"PUT", "sys/rotate"},
                                          {"GET", "sys/key-status"},
                                          {"PUT", "sys/leases/revoke"},
                                          {"PUT", "sys/leases/revoke-prefix/database"},
                                          {"LIST", "sys/leases/lookup/database/"},
                                          {"GET", "sys/leases/count?type=irrevocable"},
                                          {"POST", "auth/token/create"},
                                          {"POST", "auth/token/lookup"},
                                          {"POST", "auth/token/revoke-accessor"},
                                          {"LIST", "auth/token/accessors"},
                                          {"GET", "secret/anything"},
                                          {"GET", "nothing/mounted/here"}}) {
    const auto a = call(p.method, p.path, app);
    EXPECT_EQ(a.status, 403) << p.method << " " << p.path;
    EXPECT_EQ(a.body, json({{"errors", {denied}}})) << p.method << " " << p.path;
  }
  // The default policy's self-service paths still work.
  EXPECT_EQ(call("GET", "auth/token/lookup-self", app).status, 200);
  EXPECT_EQ(call("POST", "sys/capabilities-self", app, {{"path", "database/creds/app"}}).body["capabilities"],
            json({"read"}));
  // No token, or an unknown one: Vault's plain 403.
  EXPECT_EQ(call("GET", "sys/mounts", "").body, json({{"errors", {"permission denied"}}}));
  EXPECT_EQ(call("GET", "sys/mounts", "hvs.unknown").status, 403);
}

// Dot segments, doubled slashes and their percent-encodings never reach a path the policy does not
// grant: the ACL and the router see the same decoded path, and neither resolves "..".
TEST_F(acl_api, path_tricks_never_reach_a_path_the_policy_denies) {
  ASSERT_EQ(call("PUT", "sys/policy/s", root_, {{"policy", R"(path "secret/*" { capabilities = ["read", "list"] })"}}).status, 204);
  const std::string s = token_with({"s"});
  for (const char* path : {"secret/../sys/policy", "secret/%2e%2e/sys/policy", "secret/..%2fsys/policy",
                           "secret%2f..%2f..%2fsys/policy", "secret/x/../../sys/policy", "secret/./../sys/policy",
                           "secret/../auth/token/create", "sys//policy", "sys/./policy", "./sys/policy",
                           "secret/%2e%2e%2f%2e%2e%2fsys%2fpolicy"}) {
    SCOPED_TRACE(path);
    for (const char* method : {"GET", "PUT", "LIST"}) {
      const auto a = call(method, path, s, std::string(method) == "PUT" ? json{{"policy", ""}} : json(nullptr));
      // 403 from the ACL, or 404 from the router for a secret/ path nothing is mounted at: never served.
      EXPECT_TRUE(a.status == 403 || a.status == 404) << method << " " << a.status << " " << a.body.dump();
    }
  }
  // No PUT through a trick rewrote a policy.
  EXPECT_EQ(call("GET", "sys/policy/s", root_).body["rules"], R"(path "secret/*" { capabilities = ["read", "list"] })");
}

// tokens x paths x verbs: one line per case.
struct matrix_case {
  const char* policy;  // HCL for the token's one policy
  const char* method;
  const char* path;
  json body;
  int status;
};

TEST_F(acl_api, matrix_of_policies_paths_and_verbs) {
  const std::vector<matrix_case> cases = {
      // create vs update on policies: the existence check decides which capability is needed
      {R"(path "sys/policy/*" { capabilities = ["create"] })", "PUT", "sys/policy/fresh", {{"policy", R"(path "a" { capabilities = ["read"] })"}}, 204},
      {R"(path "sys/policy/*" { capabilities = ["create"] })", "PUT", "sys/policy/default", {{"policy", R"(path "a" { capabilities = ["read"] })"}}, 403},
      {R"(path "sys/policy/*" { capabilities = ["update"] })", "PUT", "sys/policy/fresh2", {{"policy", R"(path "a" { capabilities = ["read"] })"}}, 403},
      {R"(path "sys/policy/*" { capabilities = ["update"] })", "PUT", "sys/policy/default", {{"policy", std::string(auth::default_policy_text())}}, 204},
      {R"(path "sys/policy/*" { capabilities = ["read"] })", "GET", "sys/policy/default", nullptr, 200},
      {R"(path "sys/policy/*" { capabilities = ["read"] })", "DELETE", "sys/policy/default", nullptr, 403},
      {R"(path "sys/policy" { capabilities = ["read"] })", "GET", "sys/policy", nullptr, 200},
      {R"(path "sys/policies/acl" { capabilities = ["list"] })", "LIST", "sys/policies/acl", nullptr, 200},
      {R"(path "sys/policies/acl/*" { capabilities = ["list"] })", "LIST", "sys/policies/acl", nullptr, 200},  // "sys/policies/acl/" is under the glob
      {R"(path "sys/policies/acl/x" { capabilities = ["list"] })", "LIST", "sys/policies/acl", nullptr, 403},
      // sudo paths need sudo on top of the operation
      {R"(path "sys/auth/*" { capabilities = ["create", "update"] })", "POST", "sys/auth/approle", {{"type", "approle"}}, 403},
      {R"(path "sys/auth/*" { capabilities = ["create", "update", "sudo"] })", "POST", "sys/auth/approle", {{"type", "approle"}}, 204},
      {R"(path "sys/leases/revoke-prefix/*" { capabilities = ["update"] })", "PUT", "sys/leases/revoke-prefix/db", nullptr, 403},
      {R"(path "sys/leases/revoke-prefix/*" { capabilities = ["update", "sudo"] })", "PUT", "sys/leases/revoke-prefix/db", nullptr, 204},
      {R"(path "sys/leases/lookup/*" { capabilities = ["list"] })", "LIST", "sys/leases/lookup/db/", nullptr, 403},
      {R"(path "sys/leases/lookup/*" { capabilities = ["list", "sudo"] })", "LIST", "sys/leases/lookup/db/", nullptr, 404},
      {R"(path "sys/leases/revoke" { capabilities = ["update"] })", "PUT", "sys/leases/revoke", {{"lease_id", "db/creds/x/abc"}}, 204},
      // deny beats a glob grant
      {R"(path "sys/*" { capabilities = ["read"] } path "sys/auth" { capabilities = ["deny"] })", "GET", "sys/auth", nullptr, 403},
      {R"(path "sys/*" { capabilities = ["read"] } path "sys/auth" { capabilities = ["deny"] })", "GET", "sys/policy", nullptr, 200},
      // '+' segments
      {R"(path "sys/policies/+/default" { capabilities = ["read"] })", "GET", "sys/policies/acl/default", nullptr, 200},
      {R"(path "sys/policies/+/default" { capabilities = ["read"] })", "GET", "sys/policies/acl/root", nullptr, 403},
      // token creation needs update on the create path
      {R"(path "auth/token/create" { capabilities = ["update"] })", "POST", "auth/token/create", {{"policies", {"m"}}}, 200},
      {R"(path "auth/token/create" { capabilities = ["update"] })", "POST", "auth/token/create", {{"policies", {"other"}}}, 400},
      {R"(path "auth/token/create" { capabilities = ["update"] })", "POST", "auth/token/create", {{"no_parent", true}}, 400},
      {R"(path "auth/token/create" { capabilities = ["update", "sudo"] })", "POST", "auth/token/create", {{"policies", {"other"}}, {"no_parent", true}}, 200},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string name = "m";  // every case's token holds policy "m"
    ASSERT_EQ(call("PUT", "sys/policy/" + name, root_, {{"policy", c.policy}}).status, 204) << c.policy;
    const std::string t = token_with({name});
    const auto a = call(c.method, c.path, t, c.body);
    EXPECT_EQ(a.status, c.status) << "case " << n << ": " << c.method << " " << c.path << " with " << c.policy << " -> "
                                  << a.body.dump();
    if (c.status == 403) {
      EXPECT_EQ(a.body, json({{"errors", {denied}}}));
    }
    ++n;
  }
}

TEST_F(acl_api, policy_endpoints_answer_as_vault) {
  const std::string hcl = "path \"database/creds/app\" {\n  capabilities = [\"read\"]\n}\n";
  EXPECT_EQ(call("PUT", "sys/policies/acl/App", root_, {{"policy", hcl}}).status, 204);
  auto cur = call("GET", "sys/policies/acl/app", root_);
  EXPECT_EQ(cur.body["data"], json({{"name", "app"}, {"policy", hcl}}));
  auto legacy = call("GET", "sys/policy/app", root_);
  EXPECT_EQ(legacy.body["data"]["rules"], hcl);
  EXPECT_EQ(legacy.body["rules"], hcl);  // copied to the top level as Vault's legacy route does
  auto list = call("GET", "sys/policy", root_);
  EXPECT_EQ(list.body["policies"], json({"app", "default", "root"}));
  EXPECT_EQ(list.body["data"]["keys"], json({"app", "default", "root"}));
  EXPECT_EQ(call("LIST", "sys/policies/acl", root_).body["data"]["keys"], json({"app", "default", "root"}));
  // base64 is accepted, as by Vault
  EXPECT_EQ(call("PUT", "sys/policies/acl/b64", root_, {{"policy", "cGF0aCAieCIgeyBjYXBhYmlsaXRpZXMgPSBbInJlYWQiXSB9"}}).status, 204);
  EXPECT_EQ(call("GET", "sys/policies/acl/b64", root_).body["data"]["policy"], R"(path "x" { capabilities = ["read"] })");
  // errors
  auto bad = call("PUT", "sys/policy/broken", root_, {{"policy", "path \"a\" {\n  capabilities = [\"raed\"]\n}"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["errors"][0],
            "failed to parse policy: line 2, column 19: invalid capability \"raed\" for path \"a\" (expected create, read, "
            "update, patch, delete, list, sudo or deny)");
  EXPECT_EQ(call("PUT", "sys/policy/x", root_, json::object()).body["errors"][0], "'policy' parameter not supplied or empty");
  EXPECT_EQ(call("PUT", "sys/policy/root", root_, {{"policy", hcl}}).body["errors"][0], "cannot update \"root\" policy");
  EXPECT_EQ(call("DELETE", "sys/policy/default", root_).body["errors"][0], "cannot delete \"default\" policy");
  EXPECT_EQ(call("DELETE", "sys/policy/app", root_).status, 204);
  EXPECT_EQ(call("DELETE", "sys/policy/app", root_).status, 204);  // idempotent
  EXPECT_EQ(call("GET", "sys/policy/app", root_).status, 404);
}

TEST_F(acl_api, a_policy_change_applies_to_live_tokens_at_once) {
  ASSERT_EQ(call("PUT", "sys/policy/p", root_, {{"policy", R"(path "sys/auth" { capabilities = ["read"] })"}}).status, 204);
  const std::string t = token_with({"p"});
  EXPECT_EQ(call("GET", "sys/auth", t).status, 200);
  ASSERT_EQ(call("PUT", "sys/policy/p", root_, {{"policy", R"(path "sys/auth" { capabilities = ["deny"] })"}}).status, 204);
  EXPECT_EQ(call("GET", "sys/auth", t).status, 403);
  ASSERT_EQ(call("PUT", "sys/policy/p", root_, {{"policy", R"(path "sys/auth" { capabilities = ["read"] })"}}).status, 204);
  ASSERT_EQ(call("DELETE", "sys/policy/p", root_).status, 204);
  EXPECT_EQ(call("GET", "sys/auth", t).status, 403);
}

TEST_F(acl_api, token_endpoints_answer_as_vault) {
  auto created = call("POST", "auth/token/create", root_,
                      {{"policies", {"dev"}}, {"ttl", "1h"}, {"meta", {{"team", "payments"}}}, {"display_name", "ci"},
                       {"num_uses", nullptr}, {"id", nullptr}, {"renewable", nullptr}, {"explicit_max_ttl", nullptr}});
  ASSERT_EQ(created.status, 200) << created.body.dump();
  EXPECT_TRUE(created.body["data"].is_null());
  const json& a = created.body["auth"];
  EXPECT_EQ(a["policies"], json({"default", "dev"}));
  EXPECT_EQ(a["token_policies"], json({"default", "dev"}));
  EXPECT_EQ(a["metadata"], json({{"team", "payments"}}));
  EXPECT_EQ(a["lease_duration"], 3600);
  EXPECT_EQ(a["renewable"], true);
  EXPECT_EQ(a["token_type"], "service");
  EXPECT_EQ(a["orphan"], false);
  EXPECT_EQ(a["entity_id"], "");
  const std::string t = a["client_token"];
  const std::string acc = a["accessor"];

  auto self = call("GET", "auth/token/lookup-self", t);
  ASSERT_EQ(self.status, 200);
  const json& d = self.body["data"];
  EXPECT_EQ(d["id"], t);
  EXPECT_EQ(d["accessor"], acc);
  EXPECT_EQ(d["display_name"], "token-ci");
  EXPECT_EQ(d["ttl"], 3600);
  EXPECT_EQ(d["creation_ttl"], 3600);
  EXPECT_EQ(d["path"], "auth/token/create");
  EXPECT_EQ(d["type"], "service");
  EXPECT_TRUE(d["expire_time"].is_string());
  auto root_self = call("GET", "auth/token/lookup-self", root_);
  EXPECT_EQ(root_self.body["data"]["policies"], json({"root"}));
  EXPECT_EQ(root_self.body["data"]["ttl"], 0);
  EXPECT_TRUE(root_self.body["data"]["expire_time"].is_null());

  auto by_acc = call("POST", "auth/token/lookup-accessor", root_, {{"accessor", acc}});
  EXPECT_EQ(by_acc.body["data"]["id"], "");
  EXPECT_EQ(call("POST", "auth/token/lookup", root_, {{"token", t}}).body["data"]["accessor"], acc);
  EXPECT_EQ(call("POST", "auth/token/lookup", root_, {{"token", "hvs.bogus"}}).body["errors"][0], "bad token");

  clock_.advance(std::chrono::seconds(100));
  auto renewed = call("POST", "auth/token/renew-self", t, {{"increment", "30m"}});
  ASSERT_EQ(renewed.status, 200) << renewed.body.dump();
  EXPECT_EQ(renewed.body["auth"]["lease_duration"], 1800);
  EXPECT_EQ(renewed.body["auth"]["client_token"], t);
  EXPECT_EQ(call("POST", "auth/token/renew", root_, {{"token", t}}).body["auth"]["lease_duration"], 3600);

  EXPECT_EQ(call("POST", "auth/token/create", root_, {{"type", "batch"}}).status, 400);
  EXPECT_EQ(call("POST", "auth/token/create", root_, {{"ttl", "soon"}}).body["errors"][0],
            "Field validation failed: error converting input for field \"ttl\": time: invalid duration \"soon\"");

  EXPECT_EQ(call("POST", "auth/token/revoke-self", t).status, 204);
  EXPECT_EQ(call("GET", "auth/token/lookup-self", t).status, 403);

  auto orphan = call("POST", "auth/token/create-orphan", root_, json::object());
  EXPECT_EQ(orphan.body["auth"]["orphan"], true);
  EXPECT_EQ(call("POST", "auth/token/revoke-accessor", root_, {{"accessor", orphan.body["auth"]["accessor"]}}).status, 204);
  EXPECT_EQ(call("GET", "auth/token/lookup-self", orphan.body["auth"]["client_token"]).status, 403);
  EXPECT_GE(call("LIST", "auth/token/accessors", root_).body["data"]["keys"].size(), 1u);
}

TEST_F(acl_api, revoking_a_token_revokes_its_leases) {
  auto created = call("POST", "auth/token/create", root_, json::object());
  const std::string acc = created.body["auth"]["accessor"];
  leases::lease l;
  l.id = "database/creds/app/abc";
  l.connection = "db";
  l.token_accessor = acc;
  l.issue_time = clock_.now();
  l.expire_time = clock_.now() + std::chrono::hours(1);
  l.state = leases::lease_state::active;
  ASSERT_TRUE(leases_.add(l));
  EXPECT_EQ(call("POST", "auth/token/revoke", root_, {{"token", created.body["auth"]["client_token"]}}).status, 204);
  auto after = leases_.lookup(l.id);
  ASSERT_TRUE(after);
  EXPECT_LE(after->expire_time, clock_.now());  // due now: the expiry driver revokes it
  clock_.advance(std::chrono::milliseconds(200));
  EXPECT_EQ(time_.run_due(), 1u);
  EXPECT_FALSE(leases_.lookup(l.id));
  EXPECT_TRUE(store_.list("sys/expire/token/")->empty());  // the index entry went with the lease
}

TEST_F(acl_api, approle_login_flow) {
  EXPECT_EQ(call("POST", "sys/auth/approle", root_, {{"type", "approle"}, {"description", nullptr}, {"config", nullptr}}).status, 204);
  EXPECT_EQ(call("POST", "sys/auth/approle", root_, {{"type", "approle"}}).body["errors"][0], "path is already in use at approle/");
  EXPECT_EQ(call("POST", "sys/auth/other", root_, {{"type", "ldap"}}).status, 400);
  auto listed = call("GET", "sys/auth", root_);
  EXPECT_EQ(listed.body["data"]["approle/"]["type"], "approle");
  EXPECT_EQ(listed.body["approle/"]["type"], "approle");
  EXPECT_EQ(listed.body["data"]["token/"]["type"], "token");

  ASSERT_EQ(call("PUT", "sys/policy/app", root_, {{"policy", R"(path "database/creds/app" { capabilities = ["read"] })"}}).status, 204);
  EXPECT_EQ(call("POST", "auth/approle/role/web", root_,
                 {{"token_policies", "app"}, {"token_ttl", "20m"}, {"token_max_ttl", "30m"}, {"secret_id_num_uses", 2}})
                .status,
            204);
  auto role = call("GET", "auth/approle/role/web", root_);
  EXPECT_EQ(role.body["data"]["token_policies"], json({"app"}));
  EXPECT_EQ(role.body["data"]["token_ttl"], 1200);
  EXPECT_EQ(call("LIST", "auth/approle/role", root_).body["data"]["keys"], json({"web"}));
  const std::string role_id = call("GET", "auth/approle/role/web/role-id", root_).body["data"]["role_id"];
  auto sid = call("POST", "auth/approle/role/web/secret-id", root_, {{"metadata", R"({"host":"web-1"})"}});
  ASSERT_EQ(sid.status, 200) << sid.body.dump();
  const std::string secret_id = sid.body["data"]["secret_id"];
  EXPECT_EQ(sid.body["data"]["secret_id_num_uses"], 2);

  auto login = call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", secret_id}});
  ASSERT_EQ(login.status, 200) << login.body.dump();
  const json& a = login.body["auth"];
  EXPECT_EQ(a["policies"], json({"app", "default"}));
  EXPECT_EQ(a["metadata"], json({{"role_name", "web"}, {"host", "web-1"}}));
  EXPECT_EQ(a["lease_duration"], 1200);
  EXPECT_EQ(a["orphan"], true);
  const std::string t = a["client_token"];
  EXPECT_EQ(call("GET", "auth/token/lookup-self", t).body["data"]["display_name"], "approle");
  EXPECT_EQ(call("GET", "sys/policy", t).status, 403);

  // Errors as Vault's.
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", "wrong"}}).body["errors"][0],
            "invalid role or secret ID");
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", "nope"}, {"secret_id", secret_id}}).body["errors"][0],
            "invalid role or secret ID");
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"secret_id", secret_id}}).body["errors"][0], "missing role_id");
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}}).body["errors"][0], "missing secret_id");
  // Two uses: the second login spends the secret ID.
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", secret_id}}).status, 200);
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", secret_id}}).status, 400);

  // Lookup, list and destroy by accessor.
  auto sid2 = call("POST", "auth/approle/role/web/secret-id", root_, json::object());
  const std::string s2 = sid2.body["data"]["secret_id"];
  const std::string acc2 = sid2.body["data"]["secret_id_accessor"];
  auto looked = call("POST", "auth/approle/role/web/secret-id/lookup", root_, {{"secret_id", s2}});
  EXPECT_EQ(looked.body["data"]["secret_id_accessor"], acc2);
  EXPECT_EQ(call("LIST", "auth/approle/role/web/secret-id", root_).body["data"]["keys"], json({acc2}));
  EXPECT_EQ(call("POST", "auth/approle/role/web/secret-id-accessor/destroy", root_, {{"secret_id_accessor", acc2}}).status, 204);
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", s2}}).status, 400);

  // Secret IDs expire.
  EXPECT_EQ(call("POST", "auth/approle/role/web", root_, {{"secret_id_ttl", "60s"}}).status, 204);
  const std::string s3 = call("POST", "auth/approle/role/web/secret-id", root_, json::object()).body["data"]["secret_id"];
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", s3}}).status, 400);

  EXPECT_EQ(call("POST", "auth/approle/role/open", root_, {{"bind_secret_id", false}}).body["errors"][0],
            "at least one constraint should be enabled on the role");

  // Disabling the method revokes its tokens and removes its routes.
  EXPECT_EQ(call("DELETE", "sys/auth/approle", root_).status, 204);
  EXPECT_EQ(call("GET", "auth/token/lookup-self", t).status, 403);
  EXPECT_EQ(call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", secret_id}}).status, 403);
  EXPECT_EQ(call("DELETE", "sys/auth/token", root_).body["errors"][0], "token credential backend cannot be disabled");
  for (const auto& [k, v] : store_.snapshot()) EXPECT_EQ(k.rfind("auth/method/", 0), std::string::npos) << k;
}

TEST_F(acl_api, auth_methods_survive_a_reload) {
  ASSERT_EQ(call("POST", "sys/auth/ci/approle", root_, {{"type", "approle"}}).status, 204);
  ASSERT_EQ(call("POST", "auth/ci/approle/role/r", root_, {{"token_policies", "default"}}).status, 204);
  methods_.unload();
  EXPECT_EQ(call("GET", "auth/ci/approle/role/r", root_).status, 404);
  ASSERT_TRUE(methods_.load());
  EXPECT_EQ(call("GET", "auth/ci/approle/role/r", root_).status, 200);
}

// allowed_parameters / denied_parameters / required_parameters judge the request's data through the
// whole pipeline: a JSON body, a form body, and the query of a GET, with Vault's 403 text.
TEST_F(acl_api, parameter_constraints_judge_bodies_forms_and_queries) {
  ASSERT_EQ(call("PUT", "sys/policy/minter", root_, {{"policy", R"(
    path "auth/token/create" {
      capabilities = ["update"]
      allowed_parameters = { "policies" = ["dev", "qa-*"], "ttl" = [], "no_default_policy" = [] }
      denied_parameters = { "policies" = ["qa-admin"] }
    }
    path "auth/token/lookup" {
      capabilities = ["read"]
      required_parameters = ["token"]
    }
    path "sys/policy/*" { capabilities = ["create", "update", "read"], required_parameters = ["policy"] }
    path "dev" { capabilities = ["read"] }
    path "qa-one" { capabilities = ["read"] }
    path "qa-admin" { capabilities = ["read"] }
  )"}}).status, 204);
  for (const char* name : {"dev", "qa-one", "qa-admin"}) {
    ASSERT_EQ(call("PUT", std::string("sys/policy/") + name, root_, {{"policy", R"(path "x" { capabilities = ["read"] })"}}).status, 204);
  }
  const std::string t = token_with({"minter", "dev", "qa-one", "qa-admin"});
  struct row {
    const char* method;
    const char* path;
    json body;
    int status;
  };
  const std::vector<row> rows = {
      {"POST", "auth/token/create", {{"policies", {"dev"}}, {"ttl", "1h"}}, 200},
      {"POST", "auth/token/create", {{"policies", "dev,qa-one"}}, 200},
      {"POST", "auth/token/create", {{"policies", {"qa-admin"}}}, 403},   // denied beats the qa-* glob
      {"POST", "auth/token/create", {{"policies", {"dev"}}, {"num_uses", 1}}, 403},  // not allowed
      {"POST", "auth/token/create", {{"POLICIES", {"qa-admin"}}}, 403},   // names lower-cased
      {"GET", "auth/token/lookup", nullptr, 403},                          // required, missing
      {"POST", "sys/policy/new", {{"rules", "x"}}, 403},                   // required "policy" missing
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.method) + " " + r.path + " " + r.body.dump());
    const auto a = call(r.method, r.path, t, r.body);
    EXPECT_EQ(a.status, r.status) << a.body.dump();
    if (r.status == 403) {
      EXPECT_EQ(a.body, json({{"errors", {denied}}}));
    }
  }
  // A GET's query is its data: the required "token" parameter present passes the ACL.
  EXPECT_EQ(call("GET", "auth/token/lookup?token=" + root_, t).status, 200);
  // A form body is data too.
  api::raw_request form;
  form.method = "POST";
  form.target = "/v1/auth/token/create";
  form.headers = {{"x-vault-token", t}, {"content-type", "application/x-www-form-urlencoded"}};
  form.body = "policies=qa-admin";
  EXPECT_EQ(svc_->handle(form).status, 403);
  form.body = "policies=qa-one";
  EXPECT_EQ(svc_->handle(form).status, 200);
  // Root is never judged by parameters.
  EXPECT_EQ(call("POST", "auth/token/create", root_, {{"policies", {"qa-admin"}}, {"num_uses", 1}}).status, 200);
}

}  // namespace

// Vault's handleCapabilities: each path's capabilities sorted (Core.Capabilities sorts them), and
// the backward-compatible "capabilities" key only when one path was asked.
TEST_F(acl_api, capabilities_are_sorted_and_the_compat_key_is_for_one_path_only) {
  ASSERT_EQ(call("PUT", "sys/policy/rw", root_,
                 {{"policy", R"(path "database/roles/*" { capabilities = ["update", "read", "list", "create"] })"}})
                .status,
            204);
  const std::string t = token_with({"rw"});
  const auto one = call("POST", "sys/capabilities", root_, {{"token", t}, {"paths", {"database/roles/app"}}});
  ASSERT_EQ(one.status, 200) << one.body.dump();
  EXPECT_EQ(one.body["data"]["database/roles/app"], json({"create", "list", "read", "update"}));
  EXPECT_EQ(one.body["data"]["capabilities"], json({"create", "list", "read", "update"}));
  const auto two = call("POST", "sys/capabilities-self", t, {{"paths", {"database/roles/app", "sys/mounts"}}});
  ASSERT_EQ(two.status, 200) << two.body.dump();
  EXPECT_EQ(two.body["data"], json({{"database/roles/app", {"create", "list", "read", "update"}}, {"sys/mounts", {"deny"}}}));
  EXPECT_FALSE(two.body.contains("capabilities")) << two.body.dump();
}
