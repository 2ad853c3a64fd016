// sys/leases/* and the legacy aliases through the whole API pipeline, with a fake revoker and clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "api/service.hpp"
#include "support/seal.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/json_match.hpp"

using namespace credbroker;
using nlohmann::json;
using std::chrono::seconds;

namespace {

const std::string root = "root-token";

// Called from the manager's revocation workers, several at once: records under a lock.
class fake_revoker final : public leases::revoker {
 public:
  status revoke(const leases::lease& l) override {
    std::lock_guard lock(mu);
    revoked.push_back(l.id);
    return fail ? status(make_error(errc::unavailable, "database down")) : status(ok_v);
  }
  status renew(const leases::lease&, time_point) override { return ok_v; }
  std::mutex mu;
  std::vector<std::string> revoked;
  bool fail = false;
};

using credbroker::test::unsealed;

class sys_leases : public ::testing::Test {
 protected:
  sys_leases() {
    leases::manager_options o;
    o.jitter = false;
    o.max_attempts = 2;
    mgr_ = std::make_unique<leases::lease_manager>(store_, revoker_, clock_, o);
    svc_ = std::make_unique<api::service>(node_, authn_, nullptr, mgr_.get(), &clock_);
    for (const char* id : {"database/creds/app/AAAA", "database/creds/app/BBBB", "database/creds/ro/CCCC"}) {
      leases::lease l;
      l.id = id;
      l.connection = "pg";
      l.role = "app";
      l.username = "u";
      l.role_ttl = seconds{3600};
      l.role_max_ttl = seconds{7200};
      l.issue_time = clock_.now();
      l.expire_time = clock_.now() + seconds{3600};
      l.state = leases::lease_state::active;
      EXPECT_TRUE(mgr_->add(l).ok());
    }
  }

  std::pair<int, json> call(const std::string& method, const std::string& path, const json& body = nullptr,
                            bool token = true) {
    api::raw_request r;
    r.method = method;
    r.target = "/v1/" + path;
    if (!body.is_null()) r.body = body.dump();
    if (token) r.headers.emplace_back("x-vault-token", root);
    const auto res = svc_->handle(r);
    return {res.status, res.body.empty() ? json(nullptr) : json::parse(res.body)};
  }

  storage::inmem_backend store_;
  fake_revoker revoker_;
  fake_clock clock_{time_point{seconds{1'800'000'000}}};
  fixed_node_status node_{unsealed()};
  auth::root_token_authenticator authn_{secret(root)};
  std::unique_ptr<leases::lease_manager> mgr_;
  std::unique_ptr<api::service> svc_;
};

struct lease_case {
  const char* name;
  std::string method, path;
  json body;
  int status;
  json expect;  // subset; null: no body
};

TEST_F(sys_leases, endpoint_table) {
  const std::vector<lease_case> cases = {
      {"lookup", "PUT", "sys/leases/lookup", {{"lease_id", "database/creds/app/AAAA"}}, 200,
       {{"data", {{"id", "database/creds/app/AAAA"}, {"renewable", true}, {"ttl", 3600},
                  {"issue_time", "2027-01-15T08:00:00Z"}, {"expire_time", "2027-01-15T09:00:00Z"},
                  {"last_renewal", nullptr}}}}},
      {"lookup empty id", "PUT", "sys/leases/lookup", json::object(), 400, {{"errors", {"lease_id must be specified"}}}},
      {"lookup unknown", "PUT", "sys/leases/lookup", {{"lease_id", "database/creds/app/ZZZZ"}}, 400,
       {{"errors", {"invalid lease"}}}},
      {"list folders", "LIST", "sys/leases/lookup/database/creds", nullptr, 200, {{"data", {{"keys", {"app/", "ro/"}}}}}},
      {"list ids (hvac list=True)", "GET", "sys/leases/lookup/database/creds/app/?list=True", nullptr, 200,
       {{"data", {{"keys", {"AAAA", "BBBB"}}}}}},
      {"list root", "LIST", "sys/leases/lookup", nullptr, 200, {{"data", {{"keys", {"database/"}}}}}},
      {"list nothing", "LIST", "sys/leases/lookup/nope", nullptr, 404, {{"errors", json::array()}}},
      {"renew (hvac sends null increment)", "PUT", "sys/leases/renew",
       {{"lease_id", "database/creds/app/AAAA"}, {"increment", nullptr}}, 200,
       {{"lease_id", "database/creds/app/AAAA"}, {"renewable", true}, {"lease_duration", 3600}, {"data", nullptr}}},
      {"renew with increment", "PUT", "sys/leases/renew", {{"lease_id", "database/creds/app/AAAA"}, {"increment", "10m"}},
       200, {{"lease_duration", 600}}},
      {"renew capped", "PUT", "sys/leases/renew", {{"lease_id", "database/creds/app/AAAA"}, {"increment", 9000}}, 200,
       {{"lease_duration", 7200},
        {"warnings", {"TTL of \"2h30m\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly"}}}},
      {"legacy sys/renew with id in URL", "PUT", "sys/renew/database/creds/app/BBBB", json::object(), 200,
       {{"lease_id", "database/creds/app/BBBB"}}},
      {"renew unknown", "PUT", "sys/leases/renew", {{"lease_id", "x/y"}}, 400, {{"errors", {"lease not found"}}}},
      {"renew bad increment", "PUT", "sys/leases/renew", {{"lease_id", "x/y"}, {"increment", "soon"}}, 400,
       {{"errors", {"Field validation failed: error converting input for field \"increment\": time: invalid duration \"soon\""}}}},
      {"revoke unknown is fine", "PUT", "sys/leases/revoke", {{"lease_id", "database/creds/app/ZZZZ"}}, 204, nullptr},
      {"irrevocable count", "GET", "sys/leases/count?type=irrevocable", nullptr, 200,
       {{"data", {{"lease_count", 0}}}}},
      {"count needs type", "GET", "sys/leases/count", nullptr, 400,
       {{"errors", {"the 'type' query parameter must be 'irrevocable'"}}}},
      {"tidy", "PUT", "sys/leases/tidy", nullptr, 202, {{"warnings", {"Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto [st, body] = call(c.method, c.path, c.body);
    EXPECT_EQ(st, c.status) << body.dump();
    if (c.expect.is_null()) {
      EXPECT_TRUE(body.is_null()) << body.dump();
      continue;
    }
    std::string why;
    EXPECT_TRUE(test::json_contains(body, c.expect, &why)) << why;
  }
}

TEST_F(sys_leases, revoke_forms) {
  EXPECT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", "database/creds/app/AAAA"}}).first, 204);
  EXPECT_EQ(revoker_.revoked, std::vector<std::string>{"database/creds/app/AAAA"});
  EXPECT_EQ(call("PUT", "sys/leases/lookup", {{"lease_id", "database/creds/app/AAAA"}}).first, 400);
  // sync=false: 202 now, revoked by the expiry run.
  auto [st, body] = call("PUT", "sys/revoke/database/creds/app/BBBB", {{"sync", false}});
  EXPECT_EQ(st, 202);
  EXPECT_TRUE(body.is_null());
  EXPECT_EQ(mgr_->run_due(), 1u);
  EXPECT_EQ(revoker_.revoked.back(), "database/creds/app/BBBB");
  // node-vault's legacy revoke-prefix with path_prefix in the body.
  EXPECT_EQ(call("PUT", "sys/revoke-prefix/database/creds/ro", {{"path_prefix", "database/creds/ro"}}).first, 204);
  EXPECT_EQ(revoker_.revoked.back(), "database/creds/ro/CCCC");
  EXPECT_EQ(mgr_->count(), 0u);
}

TEST_F(sys_leases, sudo_paths_need_root_and_failures_become_irrevocable) {
  EXPECT_EQ(call("LIST", "sys/leases/lookup/database/", nullptr, false).first, 403);
  EXPECT_EQ(call("PUT", "sys/leases/revoke-force/database", nullptr, false).first, 403);
  revoker_.fail = true;
  auto [st, body] = call("PUT", "sys/leases/revoke", {{"lease_id", "database/creds/app/AAAA"}});
  EXPECT_EQ(st, 400);
  EXPECT_EQ(body, json({{"errors", {"failed to revoke lease: database down"}}}));
  clock_.advance(seconds{60});
  mgr_->run_due();  // second failure: max_attempts = 2 -> irrevocable
  auto [cst, count] = call("GET", "sys/leases/count?type=irrevocable");
  EXPECT_EQ(count["data"]["lease_count"], 1);
  auto [lst, list] = call("GET", "sys/leases?type=irrevocable");
  ASSERT_EQ(lst, 200);
  ASSERT_EQ(list["data"]["leases"].size(), 1u);
  EXPECT_EQ(list["data"]["leases"][0]["lease_id"], "database/creds/app/AAAA");
  EXPECT_EQ(list["data"]["leases"][0]["error"], "database down");
  // revoke-force asks the database once more and forgets the lease although it still fails.
  revoker_.revoked.clear();
  EXPECT_EQ(call("PUT", "sys/leases/revoke-force/database/creds/app").first, 204);
  std::sort(revoker_.revoked.begin(), revoker_.revoked.end());  // revoked concurrently
  EXPECT_EQ(revoker_.revoked, (std::vector<std::string>{"database/creds/app/AAAA", "database/creds/app/BBBB"}));
  EXPECT_EQ(call("GET", "sys/leases/count?type=irrevocable").second["data"]["lease_count"], 0);
}


// Vault's core (handleCancelableRequest) refuses a create, update or patch of a path ending in '/'
// before looking at the token: node-vault's revokePrefix({path_prefix: "database/"}) is one. A list
// (which ends in '/' by construction) is not a write.
TEST_F(sys_leases, a_write_to_a_path_ending_in_a_slash_is_refused_and_revokes_nothing) {
  for (const char* method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    for (const char* path : {"sys/leases/revoke-prefix/database/", "sys/revoke-prefix/database/creds/app/",
                             "sys/leases/revoke-force/database/", "sys/leases/renew/"}) {
      SCOPED_TRACE(path);
      for (bool token : {true, false}) {
        const auto [status, body] = call(method, path, nullptr, token);
        EXPECT_EQ(status, 400);
        EXPECT_EQ(body, json({{"errors", {"cannot write to a path ending in '/'"}}}));
      }
    }
  }
  EXPECT_TRUE(revoker_.revoked.empty());
  EXPECT_EQ(mgr_->count(), 3u);
  EXPECT_EQ(call("LIST", "sys/leases/lookup/database/creds/app/").first, 200);
  EXPECT_EQ(call("PUT", "sys/leases/revoke-prefix/database").first, 204);
  EXPECT_EQ(mgr_->count(), 0u);
}

}  // namespace
