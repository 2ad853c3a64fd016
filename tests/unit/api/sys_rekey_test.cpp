// sys/rekey/init, sys/rekey/update, sys/rekey/verify through the whole API pipeline: Vault's
// bodies and texts, the Go client's exact init body, old keys refused after the rekey, sys/rotate
// and sys/key-status on the rekeyed root key.
#include "tests/unit/api/sys_operator_fixture.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class sys_rekey : public test::operator_api {
 protected:
  // Gives old keys [from, from + n) to the rekey with `nonce`; the last answer.
  json give(const std::string& nonce, std::size_t from, std::size_t n) {
    json last;
    for (std::size_t i = from; i < from + n; ++i) {
      auto [st, body] = call("PUT", "sys/rekey/update", {{"key", keys_[i]}, {"nonce", nonce}});
      EXPECT_EQ(st, 200) << body.dump();
      last = body;
    }
    return last;
  }
};

json idle(int required) {
  return {{"nonce", ""},      {"started", false}, {"t", 0},         {"n", 0}, {"progress", 0}, {"required", required},
          {"pgp_fingerprints", nullptr}, {"backup", false}, {"verification_required", false}};
}

TEST_F(sys_rekey, new_keys_replace_the_old_ones) {
  EXPECT_EQ(call("GET", "sys/rekey/init"), std::make_pair(200, idle(3)));
  // What `vault operator rekey -init -key-shares=3 -key-threshold=2` sends (api.RekeyInitRequest:
  // Backup has no json tag, so Go writes "Backup").
  const std::string cli_body =
      R"({"secret_shares":3,"secret_threshold":2,"stored_shares":0,"pgp_keys":null,"Backup":false,"require_verification":false})";
  auto [st, started] = call("PUT", "sys/rekey/init", nullptr, "", cli_body);
  ASSERT_EQ(st, 200) << started.dump();
  const std::string nonce = started["nonce"];
  json expected = idle(3);
  expected.update({{"nonce", nonce}, {"started", true}, {"t", 2}, {"n", 3}});
  EXPECT_EQ(started, expected);

  auto one = give(nonce, 0, 1);
  expected["progress"] = 1;
  EXPECT_EQ(one, expected);  // below the threshold the answer is the status
  auto done = give(nonce, 1, 2);
  ASSERT_EQ(done["complete"], true) << done.dump();
  EXPECT_EQ(done["nonce"], nonce);
  EXPECT_EQ(done["pgp_fingerprints"], nullptr);
  EXPECT_EQ(done["backup"], false);
  EXPECT_EQ(done["verification_required"], false);
  EXPECT_FALSE(done.contains("verification_nonce"));
  ASSERT_EQ(done["keys"].size(), 3u);
  ASSERT_EQ(done["keys_base64"].size(), 3u);
  EXPECT_EQ(done["keys"][0].get<std::string>().size(), 66u);
  EXPECT_EQ(call("GET", "sys/rekey/init").second, idle(2));
  EXPECT_EQ(call("GET", "sys/seal-status").second["t"], 2);
  EXPECT_EQ(call("GET", "sys/seal-status").second["n"], 3);

  // The keyring still works: rotate and key-status with the root token, across a seal.
  EXPECT_EQ(call("PUT", "sys/rotate", nullptr, root_).first, 204);
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, root_).second["data"]["term"], 2);
  EXPECT_FALSE(reopen_with(keys_));
  EXPECT_TRUE(reopen_with({done["keys_base64"][1], done["keys"][2]}));
  EXPECT_EQ(call("GET", "sys/key-status", nullptr, root_).second["data"]["term"], 2);
}

TEST_F(sys_rekey, verification_commits_only_when_the_new_keys_come_back) {
  auto [st, started] = call("PUT", "sys/rekey/init", {{"secret_shares", 2}, {"secret_threshold", 2},
                                                      {"require_verification", true}});
  ASSERT_EQ(st, 200) << started.dump();
  EXPECT_EQ(started["verification_required"], true);
  const std::string nonce = started["nonce"];
  EXPECT_EQ(call("GET", "sys/rekey/verify").second,
            json({{"nonce", ""}, {"started", false}, {"t", 2}, {"n", 2}, {"progress", 0}}));
  auto done = give(nonce, 0, 3);
  ASSERT_EQ(done["complete"], true);
  EXPECT_EQ(done["verification_required"], true);
  const std::string vnonce = done["verification_nonce"];
  EXPECT_EQ(call("GET", "sys/rekey/init").second["verification_nonce"], vnonce);
  EXPECT_EQ(call("PUT", "sys/rekey/update", {{"key", keys_[3]}, {"nonce", nonce}}),
            std::make_pair(400, errors("rekey operation already finished; verification must be performed; nonce "
                                       "for the verification operation is \"" + vnonce + "\"")));
  auto first = call("PUT", "sys/rekey/verify", {{"key", done["keys"][1]}, {"nonce", vnonce}});
  EXPECT_EQ(first, std::make_pair(200, json({{"nonce", vnonce}, {"started", true}, {"t", 2}, {"n", 2}, {"progress", 1}})));
  // DELETE restarts the verification: a new nonce, progress 0.
  auto restarted = call("DELETE", "sys/rekey/verify");
  ASSERT_EQ(restarted.first, 200);
  const std::string vnonce2 = restarted.second["nonce"];
  EXPECT_NE(vnonce2, vnonce);
  EXPECT_EQ(restarted.second["progress"], 0);
  ASSERT_EQ(call("PUT", "sys/rekey/verify", {{"key", done["keys"][1]}, {"nonce", vnonce2}}).first, 200);
  auto finished = call("PUT", "sys/rekey/verify", {{"key", done["keys_base64"][0]}, {"nonce", vnonce2}});
  EXPECT_EQ(finished, std::make_pair(200, json({{"nonce", vnonce2}, {"complete", true}})));
  EXPECT_EQ(call("GET", "sys/rekey/verify"), std::make_pair(400, errors("no rekey configuration found")));
  EXPECT_FALSE(reopen_with(keys_));
  EXPECT_TRUE(reopen_with({done["keys"][0], done["keys"][1]}));
}

TEST_F(sys_rekey, refusals_in_vaults_words) {
  const std::vector<std::tuple<const char*, json, std::string>> init_rows = {
      {"PGP keys", {{"secret_shares", 1}, {"secret_threshold", 1}, {"pgp_keys", {"mQENBFXbjPUB"}}},
       "PGP-encrypted unseal keys are not supported by credbroker: leave pgp_keys empty, and use require_verification "
       "to make sure the new keys were received before they replace the old ones"},
      {"a backup", {{"secret_shares", 3}, {"secret_threshold", 2}, {"backup", true}},
       "cannot request a backup of the new keys without providing PGP keys for encryption"},
      {"stored shares", {{"secret_shares", 3}, {"secret_threshold", 2}, {"stored_shares", 1}},
       "stored keys are not supported by the current seal type"},
      {"no shares", json::object(), "invalid rekey seal configuration: shares must be at least one"},
      {"threshold 1 of 3", {{"secret_shares", 3}, {"secret_threshold", 1}},
       "invalid rekey seal configuration: threshold must be greater than one for multiple shares"},
      {"threshold above shares", {{"secret_shares", 2}, {"secret_threshold", 3}},
       "invalid rekey seal configuration: threshold cannot be larger than shares"},
      {"shares as a string", {{"secret_shares", "3"}, {"secret_threshold", 2}},
       "json: cannot unmarshal string into Go struct field .secret_shares of type int"},
  };
  for (const auto& [what, body, message] : init_rows) {
    SCOPED_TRACE(what);
    EXPECT_EQ(call("PUT", "sys/rekey/init", body), std::make_pair(400, errors(message)));
    EXPECT_EQ(call("GET", "sys/rekey/init").second, idle(3));
  }
  EXPECT_EQ(call("PUT", "sys/rekey/update", {{"key", keys_[0]}, {"nonce", "x"}}),
            std::make_pair(400, errors("no barrier rekey in progress")));
  auto [st, started] = call("PUT", "sys/rekey/init", {{"secret_shares", 3}, {"secret_threshold", 2}});
  ASSERT_EQ(st, 200);
  const std::string nonce = started["nonce"];
  give(nonce, 0, 1);
  const std::vector<std::tuple<const char*, json, std::string>> update_rows = {
      {"no key", {{"nonce", nonce}}, "'key' must be specified in request body as JSON"},
      {"the wrong nonce", {{"key", keys_[1]}, {"nonce", "nope"}},
       "incorrect nonce supplied; nonce for this rekey operation is \"" + nonce + "\""},
      {"the same key again", {{"key", keys_[0]}, {"nonce", nonce}},
       "given key has already been provided during this generation operation"},
      {"a long key", {{"key", std::string(68, 'a')}, {"nonce", nonce}}, "key is longer than maximum 33 bytes"},
  };
  for (const auto& [what, body, message] : update_rows) {
    SCOPED_TRACE(what);
    EXPECT_EQ(call("PUT", "sys/rekey/update", body), std::make_pair(400, errors(message)));
  }
  EXPECT_EQ(call("PUT", "sys/rekey/init", {{"secret_shares", 3}, {"secret_threshold", 2}}),
            std::make_pair(400, errors("rekey already in progress")));
  EXPECT_EQ(call("GET", "sys/rekey/init").second["progress"], 1);
  EXPECT_EQ(call("PUT", "sys/rekey-recovery-key/init", {{"secret_shares", 3}}),
            std::make_pair(400, errors("recovery rekeying not supported")));
  EXPECT_EQ(call("GET", "sys/rekey-recovery-key/verify"), std::make_pair(400, errors("recovery rekeying not supported")));
}

TEST_F(sys_rekey, a_young_rekey_is_cancelled_with_its_nonce_or_a_root_token) {
  auto [st, started] = call("PUT", "sys/rekey/init", {{"secret_shares", 3}, {"secret_threshold", 2}});
  ASSERT_EQ(st, 200);
  const std::string nonce = started["nonce"];
  EXPECT_EQ(call("DELETE", "sys/rekey/init"),
            std::make_pair(400, errors("the rekey was initialized less than 10 minutes ago: give its nonce to cancel it")));
  EXPECT_EQ(call("DELETE", "sys/rekey/init", nullptr, "hvs.not-a-token").first, 400);
  EXPECT_EQ(call("DELETE", "sys/rekey/init", {{"nonce", "other"}}).first, 400);
  EXPECT_EQ(call("GET", "sys/rekey/init").second["started"], true);
  // The Go client's RekeyCancelWithNonce: the nonce in a JSON body of the DELETE.
  EXPECT_EQ(call("DELETE", "sys/rekey/init", {{"nonce", nonce}}).first, 204);
  EXPECT_EQ(call("GET", "sys/rekey/init").second, idle(3));
  // hvac's cancel_rekey sends no nonce, with the client's token: root may.
  ASSERT_EQ(call("PUT", "sys/rekey/init", {{"secret_shares", 3}, {"secret_threshold", 2}}).first, 200);
  EXPECT_EQ(call("DELETE", "sys/rekey/init", nullptr, root_).first, 204);
  EXPECT_EQ(call("GET", "sys/rekey/init").second["started"], false);
  EXPECT_EQ(call("DELETE", "sys/rekey/init").first, 204);  // nothing to cancel
}

TEST_F(sys_rekey, sealed_answers) {
  ASSERT_EQ(call("PUT", "sys/seal", nullptr, root_).first, 204);
  const auto sealed = std::make_pair(503, errors("Vault is sealed"));
  EXPECT_EQ(call("GET", "sys/rekey/init"), sealed);
  EXPECT_EQ(call("PUT", "sys/rekey/init", {{"secret_shares", 3}, {"secret_threshold", 2}}), sealed);
  EXPECT_EQ(call("PUT", "sys/rekey/update", {{"key", keys_[0]}, {"nonce", "n"}}), sealed);
  EXPECT_EQ(call("GET", "sys/rekey/verify"), sealed);
  EXPECT_EQ(call("DELETE", "sys/rekey/init"), sealed);
}

}  // namespace
