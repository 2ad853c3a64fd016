// sys/generate-root/attempt and sys/generate-root/update through the whole API pipeline: Vault's
// bodies, status codes and texts, no token needed, the new token a working root token.
#include "broker/barrier/root_generation.hpp"
#include "broker/core/encoding.hpp"
#include "tests/unit/api/sys_operator_fixture.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class sys_generate_root : public test::operator_api {};

json idle_status(int required) {
  return {{"nonce", ""},          {"started", false},         {"progress", 0},       {"required", required},
          {"complete", false},    {"encoded_token", ""},      {"encoded_root_token", ""},
          {"pgp_fingerprint", ""}, {"otp", ""},               {"otp_length", 28}};
}

TEST_F(sys_generate_root, a_lost_root_token_is_replaced_by_a_quorum_of_unseal_keys) {
  EXPECT_EQ(call("GET", "sys/generate-root/attempt"), std::make_pair(200, idle_status(3)));
  // The vault CLI's -init without -otp: {"otp":"","pgp_key":""}; the server makes the OTP.
  auto [st, started] = call("PUT", "sys/generate-root/attempt", {{"otp", ""}, {"pgp_key", ""}});
  ASSERT_EQ(st, 200) << started.dump();
  const std::string otp = started["otp"];
  ASSERT_EQ(otp.size(), 28u);
  const std::string nonce = started["nonce"];
  json expected = idle_status(3);
  expected["started"] = true;
  expected["nonce"] = nonce;
  expected["otp"] = otp;
  EXPECT_EQ(started, expected);
  // The OTP is shown once.
  expected["otp"] = "";
  EXPECT_EQ(call("GET", "sys/generate-root/attempt").second, expected);

  // The old root token is revoked: lost.
  ASSERT_EQ(call("POST", "auth/token/revoke-self", nullptr, root_).first, 204);
  ASSERT_EQ(call("GET", "sys/key-status", nullptr, root_).first, 403);

  json last;
  for (int i = 0; i < 3; ++i) {
    // Hex and base64 keys both work; a stale token on the request does not matter.
    auto [s, body] = call("PUT", "sys/generate-root/update",
                          {{"key", keys_[static_cast<std::size_t>(i) + 1]}, {"nonce", nonce}}, root_);
    ASSERT_EQ(s, 200) << body.dump();
    EXPECT_EQ(body["progress"], i + 1);
    EXPECT_EQ(body["required"], 3);
    EXPECT_EQ(body["started"], true);
    EXPECT_EQ(body["nonce"], nonce);
    EXPECT_EQ(body["otp_length"], 0);
    last = body;
  }
  EXPECT_EQ(last["complete"], true);
  ASSERT_TRUE(last["encoded_token"].is_string());
  EXPECT_EQ(last["encoded_token"], last["encoded_root_token"]);
  auto token = barrier::decode_root_token(last["encoded_token"], secret(otp));
  ASSERT_TRUE(token.ok());
  const std::string fresh = token->reveal();
  EXPECT_EQ(fresh.substr(0, 4), "hvs.");

  // A real root token: sudo paths, lookup-self shows root; stored only as an HMAC.
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, fresh).first, 200);
  auto self = call("GET", "auth/token/lookup-self", nullptr, fresh);
  ASSERT_EQ(self.first, 200);
  EXPECT_EQ(self.second["data"]["policies"], json({"root"}));
  EXPECT_EQ(self.second["data"]["path"], "auth/token/root");
  for (const auto& [k, v] : backend_.snapshot()) {
    EXPECT_EQ(k.find(fresh), std::string::npos);
    EXPECT_EQ(v.find(fresh), std::string::npos) << k;
  }
  EXPECT_EQ(call("GET", "sys/generate-root/attempt").second, idle_status(3));
}

TEST_F(sys_generate_root, refusals_in_vaults_words) {
  const std::string otp = "0123456789abcdefghijABCDEFGH";
  auto pgp = call("PUT", "sys/generate-root/attempt", {{"pgp_key", "mQENBFXbjPUBCADjNjCUQwfxKL+RR2GA6pv/1K+zJZ8UWIF"}});
  EXPECT_EQ(pgp.first, 400);
  EXPECT_NE(pgp.second["errors"][0].get<std::string>().find("PGP-encrypted root tokens are not supported"), std::string::npos);
  EXPECT_EQ(call("PUT", "sys/generate-root/attempt", {{"otp", "tooshort"}}),
            std::make_pair(400, errors("OTP string is wrong length")));
  EXPECT_EQ(call("PUT", "sys/generate-root/update", {{"key", keys_[0]}, {"nonce", "x"}}),
            std::make_pair(400, errors("no root generation in progress")));
  auto [st, started] = call("POST", "sys/generate-root/attempt", {{"otp", otp}});
  ASSERT_EQ(st, 200);
  EXPECT_EQ(started["otp"], "");  // the caller's own OTP is not echoed
  const std::string nonce = started["nonce"];
  ASSERT_EQ(call("PUT", "sys/generate-root/update", {{"key", keys_[0]}, {"nonce", nonce}}).first, 200);

  const std::vector<std::tuple<const char*, json, std::string>> rows = {
      {"no key", {{"nonce", nonce}}, "'key' must be specified in request body as JSON"},
      {"a key that is neither hex nor base64", {{"key", "!!"}, {"nonce", nonce}}, "'key' must be a valid hex or base64 string"},
      {"a key of the wrong type", {{"key", 5}, {"nonce", nonce}},
       "json: cannot unmarshal number into Go struct field .key of type string"},
      {"the wrong nonce", {{"key", keys_[1]}, {"nonce", "nope"}},
       "incorrect nonce supplied; nonce for this root generation operation is \"" + nonce + "\""},
      {"the same key again", {{"key", keys_[0]}, {"nonce", nonce}},
       "given key has already been provided during this generation operation"},
      {"a short key", {{"key", "abcd"}, {"nonce", nonce}}, "key is shorter than minimum 16 bytes"},
  };
  for (const auto& [what, body, message] : rows) {
    SCOPED_TRACE(what);
    EXPECT_EQ(call("PUT", "sys/generate-root/update", body), std::make_pair(400, errors(message)));
  }
  EXPECT_EQ(call("PUT", "sys/generate-root/attempt", {{"otp", otp}}),
            std::make_pair(400, errors("root generation already in progress")));
  EXPECT_EQ(call("GET", "sys/generate-root/attempt").second["progress"], 1);
  // Unsupported verbs: Vault's bare 405.
  EXPECT_EQ(call("GET", "sys/generate-root/update"), std::make_pair(405, json({{"errors", json::array()}})));
  // Cancel: 204, and the attempt is gone.
  EXPECT_EQ(call("DELETE", "sys/generate-root/attempt").first, 204);
  EXPECT_EQ(call("GET", "sys/generate-root/attempt").second, idle_status(3));
  EXPECT_EQ(call("DELETE", "sys/generate-root/attempt").first, 204);
}

TEST_F(sys_generate_root, foreign_shares_abort_and_keep_the_attempt) {
  auto [st, started] = call("PUT", "sys/generate-root/attempt", json::object());
  ASSERT_EQ(st, 200);
  const std::string nonce = started["nonce"];
  // A share of another store: same length, wrong polynomial.
  test::test_store other;
  barrier::barrier ob(other);
  barrier::seal_manager os(other, ob, "inmem", "o");
  auto foreign = os.init(5, 3);
  ASSERT_TRUE(foreign.ok());
  ASSERT_EQ(call("PUT", "sys/generate-root/update", {{"key", keys_[0]}, {"nonce", nonce}}).first, 200);
  ASSERT_EQ(call("PUT", "sys/generate-root/update", {{"key", keys_[1]}, {"nonce", nonce}}).first, 200);
  const std::string alien = hex_encode((*foreign)[2].reveal());
  EXPECT_EQ(call("PUT", "sys/generate-root/update", {{"key", alien}, {"nonce", nonce}}),
            std::make_pair(400, errors("root generation aborted: root key verification failed: the key shares do not "
                                       "reconstruct the root key")));
  auto after = call("GET", "sys/generate-root/attempt").second;
  EXPECT_EQ(after["started"], true);
  EXPECT_EQ(after["nonce"], nonce);
  EXPECT_EQ(after["progress"], 0);
}

TEST_F(sys_generate_root, sealed_and_uninitialised_answers) {
  ASSERT_EQ(call("PUT", "sys/seal", nullptr, root_).first, 204);
  const auto sealed = std::make_pair(503, errors("Vault is sealed"));
  EXPECT_EQ(call("GET", "sys/generate-root/attempt"), sealed);
  EXPECT_EQ(call("PUT", "sys/generate-root/attempt", json::object()), sealed);
  EXPECT_EQ(call("PUT", "sys/generate-root/update", {{"key", keys_[0]}, {"nonce", "n"}}), sealed);
  EXPECT_EQ(call("DELETE", "sys/generate-root/attempt"), sealed);

  test::test_store empty;
  barrier::barrier eb(empty);
  barrier::seal_manager fresh(empty, eb, "inmem", "test");
  ASSERT_TRUE(fresh.load().ok());
  auth::token_store tokens(eb, clock_);
  api::seal_services services{fresh, eb, tokens};
  api::service svc(fresh, tokens, &services);
  api::raw_request r;
  r.method = "GET";
  r.target = "/v1/sys/generate-root/attempt";
  const auto res = svc.handle(r);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(json::parse(res.body), errors("server is not yet initialized"));
}

}  // namespace
