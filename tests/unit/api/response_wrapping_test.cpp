// Response wrapping through the whole API pipeline (api/response_wrapping.cpp, api/sys_wrapping.cpp)
// with real token and policy stores: X-Vault-Wrap-TTL on any response with data, the sys/wrapping
// endpoints, single use, expiry, the policy's wrapping TTL bounds, and the AppRole
// trusted-orchestrator flow — every answer checked against Vault's.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "broker/mounts/auth_mounts.hpp"
#include "api/response_wrapping.hpp"
#include "api/service.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/api_call.hpp"
#include "support/manual_time.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

using credbroker::test::unsealed;

struct no_db final : leases::revoker {
  status revoke(const leases::lease&) override { return ok_v; }
  status renew(const leases::lease&, time_point) override { return ok_v; }
};

const std::string denied = "1 error occurred:\n\t* permission denied\n\n";
const std::string invalid = "wrapping token is not valid or does not exist";

class wrapping_api : public testing::Test {
 protected:
  wrapping_api() {
    root_ = tokens_.create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    api::services s{node_, tokens_};
    s.leases = &leases_;
    s.clk = &clock_;
    s.policies = &policies_;
    s.tokens = &tokens_;
    s.auth_methods = &methods_;
    s.wrapping = &wrapping_;
    svc_ = std::make_unique<api::service>(s);
  }

  using answer = test::api_answer;
  answer call(const std::string& method, const std::string& path, const std::string& token, json body = nullptr,
              const std::string& wrap_ttl = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!wrap_ttl.empty()) headers.emplace_back("x-vault-wrap-ttl", wrap_ttl);
    return test::call_api(*svc_, method, path, token, body, std::move(headers));
  }
  std::string token_with(const std::vector<std::string>& policies, bool no_default = false) {
    auto a = call("POST", "auth/token/create", root_, {{"policies", policies}, {"no_default_policy", no_default}});
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return a.body["auth"]["client_token"].get<std::string>();
  }
  std::size_t stored_responses() { return store_.list(api::response_wrapping::prefix)->size(); }

  storage::inmem_backend store_;
  fake_clock clock_;
  fixed_node_status node_{unsealed()};
  auth::token_store tokens_{store_, clock_};
  auth::policy_store policies_{store_};
  no_db revoker_;
  test::manual_time time_{clock_};
  leases::lease_manager leases_{store_, revoker_, clock_, time_.sched, time_.exec};
  mounts::auth_mounts methods_{store_, tokens_, clock_};
  api::response_wrapping wrapping_{store_, tokens_};
  std::unique_ptr<api::service> svc_;
  std::string root_;
};

// The wrapped answer: wrap_info only, every other field empty, as Vault's.
void expect_wrapped(const json& body, std::int64_t ttl, const std::string& creation_path) {
  EXPECT_TRUE(body["data"].is_null()) << body.dump();
  EXPECT_TRUE(body["auth"].is_null());
  EXPECT_EQ(body["lease_id"], "");
  EXPECT_EQ(body["lease_duration"], 0);
  const json& w = body["wrap_info"];
  ASSERT_TRUE(w.is_object()) << body.dump();
  EXPECT_EQ(w["token"].get<std::string>().rfind("hvs.", 0), 0u);
  EXPECT_EQ(w["accessor"].get<std::string>().size(), 24u);
  EXPECT_EQ(w["ttl"], ttl);
  EXPECT_EQ(w["creation_path"], creation_path);
  EXPECT_FALSE(w["creation_time"].get<std::string>().empty());
}

TEST_F(wrapping_api, a_wrapped_token_is_unwrapped_once_by_its_holder) {
  auto wrapped = call("POST", "auth/token/create", root_, {{"policies", {"default"}}}, "5m");
  ASSERT_EQ(wrapped.status, 200) << wrapped.body.dump();
  expect_wrapped(wrapped.body, 300, "auth/token/create");
  const json info = wrapped.body["wrap_info"];
  const std::string wt = info["token"];
  ASSERT_TRUE(info.contains("wrapped_accessor"));

  // The wrapping token is a token-store token: one use, the response-wrapping policy, the wrap TTL.
  auto entry = tokens_.lookup(secret(wt));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->policies, std::vector<std::string>{"response-wrapping"});
  EXPECT_EQ(entry->num_uses, 1);
  EXPECT_EQ(entry->creation_ttl, 300);
  EXPECT_FALSE(entry->renewable);

  // Lookup is unauthenticated and consumes nothing.
  auto looked = call("POST", "sys/wrapping/lookup", "", {{"token", wt}});
  ASSERT_EQ(looked.status, 200) << looked.body.dump();
  EXPECT_EQ(looked.body["data"]["creation_ttl"], 300);
  EXPECT_EQ(looked.body["data"]["creation_path"], "auth/token/create");
  EXPECT_EQ(looked.body["data"]["creation_time"], info["creation_time"]);
  EXPECT_EQ(call("POST", "sys/wrapping/lookup", wt).status, 200);  // the token as the request's own

  // Unwrapped by presenting the wrapping token itself: the original response.
  auto unwrapped = call("PUT", "sys/wrapping/unwrap", wt);
  ASSERT_EQ(unwrapped.status, 200) << unwrapped.body.dump();
  EXPECT_TRUE(unwrapped.body["wrap_info"].is_null());
  EXPECT_EQ(unwrapped.body["auth"]["accessor"], info["wrapped_accessor"]);
  const std::string inner = unwrapped.body["auth"]["client_token"];
  EXPECT_EQ(call("GET", "auth/token/lookup-self", inner).status, 200);

  // Once: the wrapping token and its response are gone.
  for (const auto& again : {call("PUT", "sys/wrapping/unwrap", wt), call("PUT", "sys/wrapping/unwrap", root_, {{"token", wt}}),
                            call("POST", "sys/wrapping/lookup", "", {{"token", wt}})}) {
    EXPECT_EQ(again.status, 400);
    EXPECT_EQ(again.body, json({{"errors", {invalid}}}));
  }
  EXPECT_EQ(stored_responses(), 0u);
  EXPECT_FALSE(tokens_.lookup(secret(wt)));
}

TEST_F(wrapping_api, a_third_party_unwraps_with_its_own_token_and_the_default_policy) {
  auto w1 = call("POST", "sys/wrapping/wrap", root_, {{"a", "b"}, {"n", 1}}, "60");
  ASSERT_EQ(w1.status, 200) << w1.body.dump();
  expect_wrapped(w1.body, 60, "sys/wrapping/wrap");
  EXPECT_FALSE(w1.body["wrap_info"].contains("wrapped_accessor"));
  const std::string wt = w1.body["wrap_info"]["token"];

  // Refused callers leave the wrapping token alone.
  const std::string bare = token_with({"nothing"}, true);
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", bare, {{"token", wt}}).body, json({{"errors", {denied}}}));
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", "hvs.unknown", {{"token", wt}}).status, 403);
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", "", {{"token", wt}}).status, 403);
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", "").status, 403);

  const std::string holder = token_with({"default"});
  auto got = call("PUT", "sys/wrapping/unwrap", holder, {{"token", wt}});
  ASSERT_EQ(got.status, 200) << got.body.dump();
  EXPECT_EQ(got.body["data"], json({{"a", "b"}, {"n", 1}}));
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", holder, {{"token", wt}}).body, json({{"errors", {invalid}}}));

  // sys/wrapping/wrap is only for wrapping.
  EXPECT_EQ(call("POST", "sys/wrapping/wrap", root_, {{"a", "b"}}).body,
            json({{"errors", {"endpoint requires response wrapping to be used"}}}));
  // The default policy allows wrapping too.
  EXPECT_EQ(call("POST", "sys/wrapping/wrap", holder, {{"a", "b"}}, "1m").status, 200);
}

TEST_F(wrapping_api, rewrap_moves_the_response_to_a_new_token_with_the_original_ttl_and_path) {
  auto w1 = call("POST", "sys/wrapping/wrap", root_, {{"k", "v"}}, "10m");
  const std::string old_token = w1.body["wrap_info"]["token"];
  clock_.advance(std::chrono::seconds(30));
  auto w2 = call("POST", "sys/wrapping/rewrap", root_, {{"token", old_token}});
  ASSERT_EQ(w2.status, 200) << w2.body.dump();
  expect_wrapped(w2.body, 600, "sys/wrapping/wrap");
  const std::string new_token = w2.body["wrap_info"]["token"];
  EXPECT_NE(new_token, old_token);
  EXPECT_EQ(call("POST", "sys/wrapping/lookup", "", {{"token", old_token}}).status, 400);
  EXPECT_EQ(call("POST", "sys/wrapping/rewrap", root_, {{"token", old_token}}).body, json({{"errors", {invalid}}}));
  EXPECT_EQ(call("POST", "sys/wrapping/rewrap", root_, json::object()).body,
            json({{"errors", {"missing \"token\" value in input"}}}));
  // Unwrapping with a wrap TTL wraps the response again.
  auto w3 = call("PUT", "sys/wrapping/unwrap", new_token, nullptr, "2m");
  ASSERT_EQ(w3.status, 200) << w3.body.dump();
  expect_wrapped(w3.body, 120, "sys/wrapping/unwrap");
  auto got = call("PUT", "sys/wrapping/unwrap", w3.body["wrap_info"]["token"].get<std::string>());
  EXPECT_EQ(got.body["data"], json({{"k", "v"}}));
  EXPECT_EQ(stored_responses(), 0u);
}

TEST_F(wrapping_api, a_wrapping_token_expires_at_its_ttl_and_revocation_deletes_its_response) {
  const std::string soon = call("POST", "sys/wrapping/wrap", root_, {{"x", 1}}, "60s").body["wrap_info"]["token"];
  const auto revoked = call("POST", "sys/wrapping/wrap", root_, {{"x", 2}}, "1h").body["wrap_info"];
  EXPECT_EQ(stored_responses(), 2u);
  // Revoking the wrapping token by accessor deletes its response.
  EXPECT_EQ(call("POST", "auth/token/revoke-accessor", root_, {{"accessor", revoked["accessor"]}}).status, 204);
  EXPECT_EQ(stored_responses(), 1u);
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", revoked["token"].get<std::string>()).status, 400);
  // At its TTL the token is dead; the token store's sweep deletes the response.
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(call("PUT", "sys/wrapping/unwrap", soon).body, json({{"errors", {invalid}}}));
  EXPECT_EQ(tokens_.tidy(), 1u);
  EXPECT_EQ(stored_responses(), 0u);
}

TEST_F(wrapping_api, concurrent_unwraps_hand_a_response_out_once) {
  for (int round = 0; round < 20; ++round) {
    const std::string wt = call("POST", "sys/wrapping/wrap", root_, {{"round", round}}, "1m").body["wrap_info"]["token"];
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        const auto a = call("PUT", "sys/wrapping/unwrap", root_, {{"token", wt}});
        (a.status == 200 ? won : lost)++;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 3) << "round " << round;
  }
}

// Where wrapping cannot apply: Vault's answer, never the data unwrapped.
TEST_F(wrapping_api, a_wrap_request_is_wrapped_or_answered_without_data) {
  struct row {
    const char* method;
    const char* path;
    json body;
    const char* ttl;
    int status;
    json errors;  // null: not an error body
  };
  const std::vector<row> rows = {
      {"PUT", "sys/policy/p", {{"policy", R"(path "a" { capabilities = ["read"] })"}}, "1m", 204, nullptr},
      {"GET", "sys/policy/missing", nullptr, "1m", 404, json::array()},
      {"GET", "sys/health", nullptr, "1m", 400, {"the response of sys/health cannot be wrapped (X-Vault-Wrap-TTL)"}},
      {"GET", "sys/seal-status", nullptr, "1m", 400,
       {"the response of sys/seal-status cannot be wrapped (X-Vault-Wrap-TTL)"}},
      {"GET", "sys/policy/p", nullptr, "abc", 400,
       {"error parsing X-Vault-Wrap-TTL header: time: invalid duration \"abc\""}},
      {"GET", "sys/policy/p", nullptr, "0", 400,
       {"error parsing X-Vault-Wrap-TTL header: requested wrap ttl must be greater than zero"}},
      {"GET", "sys/policy/p", nullptr, "-5", 400,
       {"error parsing X-Vault-Wrap-TTL header: cannot provide negative value"}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.method) + " " + r.path + " ttl " + r.ttl);
    const auto a = call(r.method, r.path, root_, r.body, r.ttl);
    EXPECT_EQ(a.status, r.status) << a.body.dump();
    if (!r.errors.is_null()) {
      EXPECT_EQ(a.body["errors"], r.errors);
    }
  }
  // A read with data is wrapped; a list too.
  expect_wrapped(call("GET", "sys/policy/p", root_, nullptr, "90s").body, 90, "sys/policy/p");
  expect_wrapped(call("LIST", "sys/policies/acl", root_, nullptr, "90s").body, 90, "sys/policies/acl/");
  // Without the wrapping service every wrap request with data is refused.
  api::service bare(api::services{node_, tokens_, nullptr, nullptr, nullptr, &policies_, &tokens_});
  api::raw_request raw;
  raw.method = "GET";
  raw.target = "/v1/sys/policy/p";
  raw.headers = {{"x-vault-token", root_}, {"x-vault-wrap-ttl", "1m"}};
  const auto res = bare.handle(raw);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(json::parse(res.body)["errors"][0], "response wrapping is not available on this server");
}

TEST_F(wrapping_api, the_policy_bounds_the_wrap_ttl) {
  ASSERT_EQ(call("PUT", "sys/policy/w", root_,
                 {{"policy", R"(path "sys/policy/w" {
  capabilities = ["read"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
})"}})
                .status,
            204);
  const std::string t = token_with({"w"});
  struct row {
    const char* ttl;
    int status;
  };
  for (const auto& r : std::vector<row>{{"", 403}, {"30s", 403}, {"60", 200}, {"5m", 200}, {"10m", 200}, {"11m", 403}}) {
    SCOPED_TRACE(r.ttl);
    const auto a = call("GET", "sys/policy/w", t, nullptr, r.ttl);
    EXPECT_EQ(a.status, r.status) << a.body.dump();
    if (r.status == 403) {
      EXPECT_EQ(a.body, json({{"errors", {denied}}}));
    }
    if (r.status == 200) {
      EXPECT_TRUE(a.body["wrap_info"].is_object());
    }
  }
  // Root is not bound.
  EXPECT_EQ(call("GET", "sys/policy/w", root_).status, 200);
  // The wrapping tokens' policy name is immutable, as Vault's.
  EXPECT_EQ(call("PUT", "sys/policy/response-wrapping", root_, {{"policy", R"(path "*" { capabilities = ["sudo"] })"}}).body,
            json({{"errors", {"cannot update \"response-wrapping\" policy"}}}));
  EXPECT_EQ(call("DELETE", "sys/policies/acl/response-wrapping", root_).status, 400);
}

// The trusted orchestrator: it asks for a wrapped secret ID; the workload unwraps it and logs in.
TEST_F(wrapping_api, approle_secret_id_wrapped_for_a_workload) {
  ASSERT_EQ(call("POST", "sys/auth/approle", root_, {{"type", "approle"}}).status, 204);
  ASSERT_EQ(call("POST", "auth/approle/role/web", root_, {{"token_policies", "default"}}).status, 204);
  const std::string role_id = call("GET", "auth/approle/role/web/role-id", root_).body["data"]["role_id"];
  auto wrapped = call("POST", "auth/approle/role/web/secret-id", root_, json::object(), "120s");
  ASSERT_EQ(wrapped.status, 200) << wrapped.body.dump();
  expect_wrapped(wrapped.body, 120, "auth/approle/role/web/secret-id");
  const json info = wrapped.body["wrap_info"];
  EXPECT_EQ(wrapped.body["mount_type"], "approle");

  auto unwrapped = call("PUT", "sys/wrapping/unwrap", info["token"].get<std::string>());
  ASSERT_EQ(unwrapped.status, 200) << unwrapped.body.dump();
  EXPECT_EQ(unwrapped.body["data"]["secret_id_accessor"], info["wrapped_accessor"]);
  const std::string secret_id = unwrapped.body["data"]["secret_id"];
  auto login = call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", secret_id}});
  ASSERT_EQ(login.status, 200) << login.body.dump();
  // A wrapped login: the token inside is named by wrapped_accessor.
  auto sid2 = call("POST", "auth/approle/role/web/secret-id", root_, json::object()).body["data"]["secret_id"];
  auto wlogin = call("POST", "auth/approle/login", "", {{"role_id", role_id}, {"secret_id", sid2}}, "1m");
  ASSERT_EQ(wlogin.status, 200) << wlogin.body.dump();
  auto inner = call("PUT", "sys/wrapping/unwrap", wlogin.body["wrap_info"]["token"].get<std::string>());
  EXPECT_EQ(inner.body["auth"]["accessor"], wlogin.body["wrap_info"]["wrapped_accessor"]);
}

}  // namespace

namespace {

TEST_F(wrapping_api, a_wrapping_token_refused_elsewhere_keeps_its_single_use) {
  // Vault checks the ACL before it spends a use (CheckToken, then UseToken): a wrapping token shown
  // on another path is refused and can still be unwrapped once.
  auto wrapped = call("POST", "sys/wrapping/wrap", root_, {{"k", "v"}}, "5m");
  ASSERT_EQ(wrapped.status, 200) << wrapped.body.dump();
  const std::string wt = wrapped.body["wrap_info"]["token"];
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "sys/policy/default"}, {"GET", "auth/token/lookup-self"}, {"POST", "auth/token/create"}}) {
    SCOPED_TRACE(method + " " + path);
    auto refused = call(method, path, wt);
    EXPECT_EQ(refused.status, 403) << refused.body.dump();
    EXPECT_EQ(refused.body, json({{"errors", {denied}}}));
  }
  ASSERT_TRUE(tokens_.lookup(secret(wt)));
  EXPECT_EQ(tokens_.lookup(secret(wt))->num_uses, 1);
  auto unwrapped = call("PUT", "sys/wrapping/unwrap", wt);
  ASSERT_EQ(unwrapped.status, 200) << unwrapped.body.dump();
  EXPECT_EQ(unwrapped.body["data"], json({{"k", "v"}}));
}

TEST_F(wrapping_api, a_use_limited_token_spends_a_use_only_when_allowed) {
  auto made = call("POST", "auth/token/create", root_, {{"policies", {"default"}}, {"num_uses", 2}});
  ASSERT_EQ(made.status, 200) << made.body.dump();
  const std::string t = made.body["auth"]["client_token"];
  EXPECT_EQ(call("GET", "sys/policy/default", t).status, 403);  // not in the default policy: no use spent
  EXPECT_EQ(tokens_.lookup(secret(t))->num_uses, 2);
  EXPECT_EQ(call("GET", "auth/token/lookup-self", t).status, 200);  // allowed: one use
  EXPECT_EQ(tokens_.lookup(secret(t))->num_uses, 1);
  // The last use: the request runs with the token's identity, and the token goes.
  EXPECT_EQ(call("POST", "sys/capabilities-self", t, {{"paths", {"secret/x"}}}).status, 200);
  EXPECT_FALSE(tokens_.lookup(secret(t)));
  EXPECT_EQ(call("GET", "auth/token/lookup-self", t).status, 403);
}

}  // namespace
