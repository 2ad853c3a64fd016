// PUT sys/init, sys/unseal, sys/seal, sys/rotate, GET sys/key-status through the whole API pipeline.
#include <gtest/gtest.h>

#include "api/service.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/barrier/seal_manager.hpp"
#include "support/test_store.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class sys_init : public ::testing::Test {
 protected:
  sys_init() {
    EXPECT_TRUE(seal_.load().ok());
    seal_.on_seal([this] { tokens_.clear_cache(); });
  }

  std::pair<int, json> call(const std::string& method, const std::string& path, const json& body = nullptr,
                            const std::string& token = "") {
    api::raw_request r;
    r.method = method;
    r.target = "/v1/" + path;
    if (!body.is_null()) r.body = body.dump();
    if (!token.empty()) r.headers.emplace_back("x-vault-token", token);
    const auto res = svc_.handle(r);
    return {res.status, res.body.empty() ? json(nullptr) : json::parse(res.body)};
  }

  test::test_store backend_;
  barrier::barrier barrier_{backend_};
  barrier::seal_manager seal_{backend_, barrier_, "inmem", "test"};
  system_clock clock_;
  auth::token_store tokens_{barrier_, clock_};
  api::seal_services services_{seal_, barrier_, tokens_};
  api::service svc_{seal_, tokens_, &services_};
};

TEST_F(sys_init, full_lifecycle) {
  EXPECT_EQ(call("GET", "sys/health").first, 501);
  EXPECT_EQ(call("GET", "sys/init").second, json({{"initialized", false}}));
  EXPECT_EQ(call("GET", "sys/anything", nullptr, "x").first, 503);

  auto [st, init] = call("PUT", "sys/init", {{"secret_shares", 5}, {"secret_threshold", 3}});
  ASSERT_EQ(st, 200) << init.dump();
  ASSERT_EQ(init["keys"].size(), 5u);
  ASSERT_EQ(init["keys_base64"].size(), 5u);
  EXPECT_EQ(init["keys"][0].get<std::string>().size(), 66u);  // 33 bytes in hex
  const std::string root = init["root_token"];
  EXPECT_EQ(root.substr(0, 4), "hvs.");

  // Initialised and sealed.
  EXPECT_EQ(call("GET", "sys/health").first, 503);
  EXPECT_EQ(call("GET", "sys/seal-status").second["sealed"], true);
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, root).first, 503);
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", 1}, {"secret_threshold", 1}}).second,
            json({{"errors", {"Vault is already initialized"}}}));

  auto p1 = call("PUT", "sys/unseal", {{"key", init["keys"][0]}});
  EXPECT_EQ(p1.second["progress"], 1);
  auto p2 = call("PUT", "sys/unseal", {{"key", init["keys_base64"][3]}});  // base64 works too
  EXPECT_EQ(p2.second["progress"], 2);
  auto p3 = call("PUT", "sys/unseal", {{"key", init["keys"][4]}});
  EXPECT_EQ(p3.second["sealed"], false);
  EXPECT_EQ(call("GET", "sys/health").first, 200);

  // The root token from init works; it is stored only as an HMAC.
  auto ks = call("GET", "sys/key-status", nullptr, root);
  ASSERT_EQ(ks.first, 200);
  EXPECT_EQ(ks.second["data"]["term"], 1);
  for (const auto& [k, v] : backend_.snapshot()) {
    EXPECT_EQ(k.find(root), std::string::npos);
    EXPECT_EQ(v.find(root), std::string::npos) << k;
  }
  EXPECT_EQ(call("PUT", "sys/rotate", nullptr, root).first, 204);
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, root).second["data"]["term"], 2);

  // Seal needs a token.
  EXPECT_EQ(call("PUT", "sys/seal").first, 403);
  EXPECT_EQ(call("PUT", "sys/seal", nullptr, "hvs.wrong").first, 403);
  EXPECT_EQ(call("PUT", "sys/seal", nullptr, root).first, 204);
  EXPECT_EQ(call("GET", "sys/health").first, 503);
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, root).second, json({{"errors", {"Vault is sealed"}}}));
}

TEST_F(sys_init, bad_requests_table) {
  auto [st, init] = call("PUT", "sys/init", {{"secret_shares", 3}, {"secret_threshold", 2}});
  ASSERT_EQ(st, 200);
  const std::vector<std::tuple<json, int, std::string>> cases = {
      {json::object(), 400, "'key' must be specified in request body as JSON, or 'reset' set to true"},
      {{{"key", nullptr}}, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"},
      {{{"key", "!!not-a-key!!"}}, 400, "'key' must be a valid hex or base64 string"},
      {{{"key", "abcd"}}, 400, "Error unsealing: invalid unseal key: expected 33 bytes, got 2"},
  };
  for (const auto& [body, status, msg] : cases) {
    auto [s, out] = call("PUT", "sys/unseal", body);
    EXPECT_EQ(s, status) << body.dump();
    EXPECT_EQ(out, json({{"errors", {msg}}})) << body.dump();
  }
  EXPECT_EQ(call("PUT", "sys/unseal", {{"key", init["keys"][0]}}).second["progress"], 1);
  EXPECT_EQ(call("PUT", "sys/unseal", {{"reset", true}}).second["progress"], 0);
}

TEST_F(sys_init, init_parameter_errors) {
  EXPECT_EQ(call("PUT", "sys/init", json::object()).second,
            json({{"errors", {"secret_shares and secret_threshold are required (for example 5 and 3)"}}}));
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", 2}, {"secret_threshold", 3}}).second,
            json({{"errors", {"invalid seal configuration: secret_threshold cannot be larger than secret_shares"}}}));
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", "x"}, {"secret_threshold", 3}}).first, 400);
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", 5}, {"secret_threshold", 3}, {"pgp_keys", {"k"}}}).second,
            json({{"errors", {"PGP-encrypted unseal keys are not supported by credbroker"}}}));
  EXPECT_EQ(call("GET", "sys/init").second, json({{"initialized", false}}));
}

}  // namespace

// What `vault operator init` sends: "pgp_keys":null and "root_token_pgp_key":"" mean no PGP.
TEST_F(sys_init, the_clis_init_body_and_sys_leader) {
  const json cli = json::parse(R"({"secret_shares":5,"secret_threshold":3,"stored_shares":0,"pgp_keys":null,
      "recovery_shares":5,"recovery_threshold":3,"recovery_pgp_keys":null,"root_token_pgp_key":""})");
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", 1}, {"secret_threshold", 1}, {"pgp_keys", {"keybase:x"}}}).first, 400);
  EXPECT_EQ(call("PUT", "sys/init", {{"secret_shares", 1}, {"secret_threshold", 1}, {"root_token_pgp_key", "x"}}).first, 400);
  // sys/leader needs no token and answers while sealed too (vault status asks it).
  const json leader = {{"ha_enabled", false}, {"is_self", false}, {"active_time", "0001-01-01T00:00:00Z"},
                       {"leader_address", ""}, {"leader_cluster_address", ""}, {"performance_standby", false},
                       {"performance_standby_last_remote_wal", 0}};
  EXPECT_EQ(call("GET", "sys/leader"), std::make_pair(200, leader));
  auto [st, init] = call("PUT", "sys/init", cli);
  ASSERT_EQ(st, 200) << init.dump();
  EXPECT_EQ(init["keys"].size(), 5u);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(call("PUT", "sys/unseal", {{"key", init["keys"][i]}}).first, 200);
  EXPECT_EQ(call("GET", "sys/leader"), std::make_pair(200, leader));
  EXPECT_EQ(call("PUT", "sys/leader").first, 405);
}
