// The audit hook in the API pipeline (service::handle) with real token and policy stores and fake
// devices: which requests are audited, with what, and Vault's fail-closed rule — a request no device
// can record is refused with 500 before its handler runs; a response no device can record turns the
// answer into 500 (the handler's effect stays).
#include <gtest/gtest.h>

#include "api/audit_hook.hpp"
#include "broker/mounts/auth_mounts.hpp"
#include "api/service.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/api_call.hpp"
#include "support/manual_time.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

// Records lines; fails requests and/or responses on demand.
class recording_sink final : public audit::sink {
 public:
  bool fail_requests = false;
  bool fail_responses = false;
  std::vector<json> entries;

  bool direct() const override { return true; }
  status write(std::string_view line) override {
    json e = json::parse(line);
    const bool response = e["type"] == "response";
    if ((response && fail_responses) || (!response && fail_requests)) return make_error(errc::unavailable, "down");
    entries.push_back(std::move(e));
    return ok_v;
  }
  status reopen() override { return ok_v; }
};

struct no_db final : leases::revoker {
  status revoke(const leases::lease&) override { return ok_v; }
  status renew(const leases::lease&, time_point) override { return ok_v; }
};

const audit::salt device_salt(secret("hook-test-salt"));

class audit_hook_test : public testing::Test {
 protected:
  audit_hook_test() {
    root_ = tokens_.create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    api::services s{node_, tokens_, nullptr, &leases_, &clock_, &policies_, &tokens_, &methods_};
    s.audit = &broker_;
    svc_ = std::make_unique<api::service>(s);
    auto out = std::make_unique<recording_sink>();
    sink_ = out.get();
    audit::device_entry e;
    e.path = "fake/";
    e.type = "file";
    broker_.set_devices({std::make_shared<audit::device>(e, audit::format_options{}, device_salt, std::move(out))});
  }

  using answer = test::api_answer;
  answer call(const std::string& method, const std::string& path, const std::string& token, json body = nullptr) {
    return test::call_api(*svc_, method, path, token, body, {}, "10.0.0.7:40001");
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
  audit::audit_broker broker_{clock_};
  std::unique_ptr<api::service> svc_;
  recording_sink* sink_ = nullptr;
  std::string root_;
};

TEST_F(audit_hook_test, a_request_and_its_response_are_two_entries_with_the_secrets_hashed) {
  const auto a = call("POST", "auth/token/create", root_, {{"policies", {"default"}}, {"meta", {{"team", "x"}}}});
  ASSERT_EQ(a.status, 200) << a.body.dump();
  const std::string issued = a.body["auth"]["client_token"];
  ASSERT_EQ(sink_->entries.size(), 2u);
  const json& rq = sink_->entries[0];
  const json& rs = sink_->entries[1];
  EXPECT_EQ(rq["type"], "request");
  EXPECT_EQ(rs["type"], "response");
  EXPECT_EQ(rq["request"]["id"], a.body["request_id"]);
  EXPECT_EQ(rs["request"]["id"], a.body["request_id"]);
  EXPECT_EQ(rq["request"]["path"], "auth/token/create");
  EXPECT_EQ(rq["request"]["operation"], "update");
  EXPECT_EQ(rq["request"]["mount_type"], "token");
  EXPECT_EQ(rq["request"]["mount_point"], "auth/token/");
  EXPECT_EQ(rq["request"]["remote_address"], "10.0.0.7");
  EXPECT_EQ(rq["request"]["remote_port"], 40001);
  EXPECT_EQ(rq["request"]["client_token"], device_salt.hmac(root_));
  EXPECT_EQ(rq["auth"]["client_token"], device_salt.hmac(root_));
  EXPECT_EQ(rq["auth"]["policies"], json::array({"root"}));
  EXPECT_EQ(rq["auth"]["display_name"], "root");
  EXPECT_EQ(rq["auth"]["token_type"], "service");
  EXPECT_EQ(rq["auth"]["policy_results"]["allowed"], true);
  EXPECT_EQ(rq["request"]["data"]["policies"], json::array({device_salt.hmac("default")}));
  EXPECT_EQ(rs["response"]["auth"]["client_token"], device_salt.hmac(issued));
  EXPECT_EQ(rs["response"]["auth"]["accessor"], device_salt.hmac(a.body["auth"]["accessor"].get<std::string>()));
  EXPECT_EQ(rs["response"]["auth"]["metadata"], (json{{"team", "x"}}));
  EXPECT_EQ(rs["response"]["auth"]["token_ttl"], a.body["auth"]["lease_duration"]);
  for (const auto& e : sink_->entries) {
    EXPECT_EQ(e.dump().find(root_), std::string::npos);
    EXPECT_EQ(e.dump().find(issued), std::string::npos);
  }
  // The issued token as a caller: its metadata, TTL and issue time.
  ASSERT_EQ(call("GET", "auth/token/lookup-self", issued).status, 200);
  const json& caller = sink_->entries.back()["auth"];
  EXPECT_EQ(caller["metadata"], (json{{"team", "x"}}));
  EXPECT_EQ(caller["token_ttl"], a.body["auth"]["lease_duration"]);
  EXPECT_EQ(caller["token_issue_time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(caller["policies"], json::array({"default"}));
  EXPECT_EQ(sink_->entries.back()["response"]["data"]["id"], device_salt.hmac(issued));
}

TEST_F(audit_hook_test, refusals_are_audited_with_their_error_and_stay_refusals) {
  struct row {
    const char* name;
    std::string token;
    int status;
  };
  ASSERT_EQ(call("PUT", "sys/policy/none", root_, {{"policy", R"(path "nothing" { capabilities = ["read"] })"}}).status, 204);
  const std::string limited = call("POST", "auth/token/create", root_, {{"policies", {"none"}}}).body["auth"]["client_token"];
  for (const auto& r : std::vector<row>{{"unknown token", "hvs.NOSUCHTOKEN", 403}, {"ACL denies", limited, 403}}) {
    SCOPED_TRACE(r.name);
    sink_->entries.clear();
    const auto a = call("GET", "sys/mounts", r.token);
    EXPECT_EQ(a.status, r.status);
    ASSERT_EQ(sink_->entries.size(), 2u);
    for (const auto& e : sink_->entries) {
      EXPECT_NE(e["error"].get<std::string>().find("permission denied"), std::string::npos);
      EXPECT_EQ(e["auth"]["policy_results"]["allowed"], false);
      EXPECT_EQ(e["request"]["client_token"], device_salt.hmac(r.token));
      EXPECT_EQ(e["request"]["path"], "sys/mounts");
    }
    // Even when the request entry cannot be written, a refusal stays a 403 ...
    sink_->fail_requests = true;
    EXPECT_EQ(call("GET", "sys/mounts", r.token).status, r.status);
    sink_->fail_requests = false;
    // ... and becomes a 500 only when the response entry cannot be written.
    sink_->fail_responses = true;
    const auto b = call("GET", "sys/mounts", r.token);
    EXPECT_EQ(b.status, 500);
    EXPECT_EQ(b.body["errors"], json::array({"internal error"}));
    sink_->fail_responses = false;
  }
}

TEST_F(audit_hook_test, token_refusals_from_the_header_are_audited_without_the_body) {
  // The HTTP server's steps: inspect() refuses a protected route without a token, authenticate()
  // a refused token, both before the body is read; each refusal is a request and a response entry.
  api::raw_request head;
  head.method = "PUT";
  head.target = "/v1/sys/policy/p";
  head.remote = "10.0.0.7:40001";
  const auto d = svc_->inspect(head);
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 403);
  ASSERT_EQ(sink_->entries.size(), 2u);
  EXPECT_EQ(sink_->entries[1]["error"], "permission denied");
  EXPECT_EQ(sink_->entries[1]["request"]["path"], "sys/policy/p");
  EXPECT_FALSE(sink_->entries[0]["request"]["id"].get<std::string>().empty());
  sink_->entries.clear();
  head.headers.emplace_back("x-vault-token", "hvs.NOSUCHTOKEN");
  ASSERT_TRUE(svc_->inspect(head).needs_token);
  EXPECT_TRUE(sink_->entries.empty());
  const auto refused = svc_->authenticate(head);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  ASSERT_EQ(sink_->entries.size(), 2u);
  for (const auto& e : sink_->entries) {
    EXPECT_EQ(e["request"]["client_token"], device_salt.hmac("hvs.NOSUCHTOKEN"));
    EXPECT_FALSE(e["request"].contains("data"));
    EXPECT_NE(e["error"].get<std::string>().find("invalid token"), std::string::npos);
  }
  // A response entry no device records turns the refusal into a 500, as in handle().
  sink_->fail_responses = true;
  const auto failed = svc_->authenticate(head);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  sink_->fail_responses = false;
}

TEST_F(audit_hook_test, a_request_no_device_can_record_is_refused_before_its_handler_runs) {
  sink_->fail_requests = true;
  const auto a = call("PUT", "sys/policy/p", root_, {{"policy", R"(path "a" { capabilities = ["read"] })"}});
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body["errors"], json::array({"1 error occurred:\n\t* internal error\n\n"}));
  EXPECT_EQ(broker_.failures().request_failure, 1u);
  sink_->fail_requests = false;
  EXPECT_EQ(call("GET", "sys/policy/p", root_).status, 404);  // the handler never ran
}

TEST_F(audit_hook_test, a_response_no_device_can_record_becomes_a_500_after_the_handler_ran) {
  sink_->fail_responses = true;
  const auto a = call("PUT", "sys/policy/p", root_, {{"policy", R"(path "a" { capabilities = ["read"] })"}});
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body["errors"], json::array({"internal error"}));
  EXPECT_EQ(broker_.failures().response_failure, 1u);
  sink_->fail_responses = false;
  EXPECT_EQ(call("GET", "sys/policy/p", root_).status, 200);  // as in Vault, the write happened
}

TEST_F(audit_hook_test, unaudited_are_routes_served_while_sealed_and_what_fails_before_routing) {
  EXPECT_EQ(call("GET", "sys/health", "").status, 200);
  EXPECT_EQ(call("GET", "sys/seal-status", "").status, 200);
  EXPECT_EQ(call("BREW", "sys/mounts", root_).status, 405);
  EXPECT_TRUE(sink_->entries.empty());
  // Not found, after the ACL: audited, with the 404's error.
  EXPECT_EQ(call("GET", "nowhere/x", root_).status, 404);
  ASSERT_EQ(sink_->entries.size(), 2u);
  EXPECT_NE(sink_->entries[1]["error"].get<std::string>().find("no handler for route"), std::string::npos);
}

TEST_F(audit_hook_test, without_devices_nothing_is_recorded_and_everything_is_served) {
  broker_.set_devices({});
  EXPECT_EQ(call("GET", "sys/policy", root_).status, 200);
  EXPECT_TRUE(sink_->entries.empty());
}

TEST(audit_hook_records, a_reply_becomes_vaults_response_fields) {
  api::reply r = api::reply::with_data({{"username", "u"}});
  r.lease_id = "database/creds/app/x";
  r.warnings = {"w"};
  r.auth = {{"client_token", "hvs.T"}, {"accessor", "acc"}, {"policies", {"default"}}, {"token_policies", {"default"}},
            {"metadata", nullptr}, {"lease_duration", 60}, {"token_type", "service"}, {"num_uses", 2}};
  const auto rec = api::response_record(r);
  EXPECT_EQ(rec.data, (json{{"username", "u"}}));
  EXPECT_EQ(rec.lease_id, "database/creds/app/x");
  ASSERT_TRUE(rec.auth);
  EXPECT_EQ(rec.auth->client_token.reveal(), "hvs.T");
  EXPECT_EQ(rec.auth->token_ttl, 60);
  EXPECT_EQ(rec.auth->num_uses, 2);
  EXPECT_TRUE(rec.auth->metadata.empty());
  const auto none = api::response_record(api::reply::empty());
  EXPECT_TRUE(none.data.is_null());
  EXPECT_FALSE(none.auth);
  EXPECT_EQ(api::response_record(api::reply::raw(200, {{"k", "v"}})).data, (json{{"k", "v"}}));
}

}  // namespace
