// sys/auth/:path[/tune], the token routes and the 403s as the vault CLI, the Go client and Vault Agent
// meet them, through the whole API pipeline with real token, policy and auth-method stores.
#include <gtest/gtest.h>

#include "broker/mounts/auth_mounts.hpp"
#include "api/service.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/api_call.hpp"
#include "support/manual_time.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

struct no_db final : leases::revoker {
  status revoke(const leases::lease&) override { return ok_v; }
  status renew(const leases::lease&, time_point) override { return ok_v; }
};

class sys_auth : public testing::Test {
 protected:
  sys_auth() {
    root_ = tokens_.create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    svc_ = std::make_unique<api::service>(
        api::services{node_, tokens_, nullptr, &leases_, &clock_, &policies_, &tokens_, &methods_});
  }
  std::pair<int, json> call(const std::string& method, const std::string& path, const std::string& token,
                            const json& body = nullptr) {
    auto a = test::call_api(*svc_, method, path, token, body);
    return {a.status, std::move(a.body)};
  }

  storage::inmem_backend store_;
  fake_clock clock_;
  fixed_node_status node_{test::unsealed()};
  auth::token_store tokens_{store_, clock_};
  auth::policy_store policies_{store_};
  no_db revoker_;
  test::manual_time time_{clock_};
  leases::lease_manager leases_{store_, revoker_, clock_, time_.sched, time_.exec};
  mounts::auth_mounts methods_{store_, tokens_, clock_};
  std::unique_ptr<api::service> svc_;
  std::string root_;
};

TEST_F(sys_auth, tune_keeps_what_is_not_named_and_never_enables_a_method_at_tune) {
  ASSERT_EQ(call("POST", "sys/auth/approle", root_, {{"type", "approle"}, {"description", "apps"}}).first, 204);
  struct step {
    const char* name;
    const char* path;
    json body;
    std::int64_t want_default, want_max;
  };
  const std::vector<step> steps = {
      {"both", "sys/auth/approle/tune", {{"default_lease_ttl", "1h"}, {"max_lease_ttl", "4h"}}, 3600, 14400},
      {"\"\" keeps (the CLI sends both)", "sys/auth/approle/tune", {{"default_lease_ttl", "30m0s"}, {"max_lease_ttl", ""}}, 1800, 14400},
      {"null keeps", "sys/auth/approle/tune", {{"max_lease_ttl", "2h"}, {"default_lease_ttl", nullptr}}, 1800, 7200},
      {"a number of seconds", "sys/auth/approle/tune", {{"default_lease_ttl", 1200}, {"max_lease_ttl", ""}}, 1200, 7200},
      {"system resets", "sys/auth/approle/tune", {{"default_lease_ttl", "system"}}, 0, 7200},
  };
  for (const auto& s : steps) {
    SCOPED_TRACE(s.name);
    auto [st, body] = call("POST", s.path, root_, s.body);
    ASSERT_EQ(st, 204) << body.dump();
    auto [rs, tune] = call("GET", "sys/auth/approle/tune", root_);
    ASSERT_EQ(rs, 200) << tune.dump();
    EXPECT_EQ(tune["data"]["default_lease_ttl"], s.want_default);
    EXPECT_EQ(tune["data"]["max_lease_ttl"], s.want_max);
    EXPECT_EQ(tune["data"]["description"], "apps");
  }
  auto [ls, list] = call("GET", "sys/auth", root_);
  EXPECT_FALSE(list["data"].contains("approle/tune/")) << list.dump();
  EXPECT_EQ(list["data"].size(), 2u);  // token/ and approle/

  auto [gs, one] = call("GET", "sys/auth/approle", root_);
  ASSERT_EQ(gs, 200) << one.dump();
  EXPECT_EQ(one["data"]["type"], "approle");
  EXPECT_EQ(one["type"], "approle");  // copied to the top level, as Vault's sys/auth routes
  EXPECT_EQ(one["data"]["config"]["max_lease_ttl"], 7200);
  EXPECT_EQ(call("GET", "sys/auth/nope", root_).first, 400);
  EXPECT_EQ(call("POST", "sys/auth/nope/tune", root_, {{"default_lease_ttl", "1h"}}).second["errors"][0],
            "tune of path \"auth/nope/\" failed: no mount entry found");
  EXPECT_EQ(call("POST", "sys/auth/approle/tune", root_, {{"default_lease_ttl", "5h"}}).second["errors"][0],
            "backend max lease TTL of 7200 would be less than backend default lease TTL of 18000");
}

TEST_F(sys_auth, refused_tokens_answer_vaults_403s) {
  const std::string only_denied = "1 error occurred:\n\t* permission denied\n\n";
  const std::string invalid = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n";
  auto [cs, created] = call("POST", "auth/token/create", root_, {{"policies", {"nothing"}}});
  ASSERT_EQ(cs, 200) << created.dump();
  const std::string t = created["auth"]["client_token"];
  struct row {
    const char* name;
    std::string token;
    json errors;
  };
  // Vault Agent re-authenticates on "invalid token"; a token that lacks a policy must not trigger it.
  const std::vector<row> before = {
      {"no token", "", {"permission denied"}},
      {"unknown token", "hvs.bogus", {invalid}},
      {"lacks the policy", t, {only_denied}},
  };
  for (const auto& r : before) {
    auto [s, body] = call("GET", "sys/mounts", r.token);
    EXPECT_EQ(s, 403) << r.name;
    EXPECT_EQ(body["errors"], r.errors) << r.name;
  }
  ASSERT_EQ(call("POST", "auth/token/revoke", root_, {{"token", t}}).first, 204);
  auto [rs, rb] = call("GET", "sys/mounts", t);
  EXPECT_EQ(rs, 403);
  EXPECT_EQ(rb["errors"], json({invalid}));
  // Looking up a token that is gone: 403 "bad token", as Vault.
  auto [ls, lb] = call("POST", "auth/token/lookup", root_, {{"token", t}});
  EXPECT_EQ(ls, 403);
  EXPECT_EQ(lb, json({{"errors", {"bad token"}}}));
}

TEST_F(sys_auth, token_create_and_lookup_take_what_the_go_client_sends) {
  // api.TokenCreateRequest always carries display_name, num_uses, type and entity_alias; the CLI adds
  // its durations as Go's Duration.String().
  auto [s, body] = call("POST", "auth/token/create", root_,
                        json::parse(R"({"policies":["default"],"ttl":"0s","explicit_max_ttl":"0s","period":"24h0m0s",
                                        "display_name":"","num_uses":0,"renewable":true,"type":"service","entity_alias":""})"));
  ASSERT_EQ(s, 200) << body.dump();
  EXPECT_EQ(body["auth"]["lease_duration"], 86400);
  EXPECT_EQ(call("POST", "auth/token/create", root_, {{"entity_alias", "someone"}}).first, 400);
  // GET auth/token/lookup: the caller's own token, as Vault (read and update both served).
  auto [gs, self] = call("GET", "auth/token/lookup", root_);
  ASSERT_EQ(gs, 200) << self.dump();
  EXPECT_EQ(self["data"]["policies"], json({"root"}));
  auto [ps, other] = call("POST", "auth/token/lookup", root_, {{"token", body["auth"]["client_token"]}});
  ASSERT_EQ(ps, 200);
  EXPECT_EQ(other["data"]["period"], 86400);
}

TEST_F(sys_auth, internal_ui_mounts_show_only_what_the_token_may_use) {
  ASSERT_EQ(call("POST", "sys/auth/approle", root_, {{"type", "approle"}}).first, 204);
  auto [s, all] = call("GET", "sys/internal/ui/mounts", root_);
  ASSERT_EQ(s, 200) << all.dump();
  EXPECT_TRUE(all["data"]["auth"].contains("approle/"));
  auto [ns, none] = call("GET", "sys/internal/ui/mounts", "");  // unauthenticated: nothing listed
  ASSERT_EQ(ns, 200);
  EXPECT_EQ(none["data"], json({{"secret", json::object()}, {"auth", json::object()}}));
  auto [os, one] = call("GET", "sys/internal/ui/mounts/auth/approle/login", root_);
  ASSERT_EQ(os, 200) << one.dump();
  EXPECT_EQ(one["data"]["type"], "approle");
  EXPECT_EQ(one["data"]["path"], "approle/");
  EXPECT_EQ(call("GET", "sys/internal/ui/mounts/auth/approle", "").first, 403);
  auto [ds, denied] = call("GET", "sys/internal/ui/mounts/nothing/here", root_);
  EXPECT_EQ(ds, 403);
  EXPECT_EQ(denied["errors"][0],
            "preflight capability check returned 403, please ensure client's policies grant access to path \"nothing/here/\"");
}

}  // namespace
