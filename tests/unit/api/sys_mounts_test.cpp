// sys/mounts/:path[/tune], sys/remount and sys/internal/ui/mounts as the vault CLI, the Go client,
// Terraform and consul-template use them, on the engine_api broker.
#include "support/engine_api.hpp"

namespace credbroker::test {
namespace {

struct tune_step {
  const char* name;
  json body;
  int status;
  std::int64_t want_default, want_max;  // the stored values (0: the server's)
};

TEST_F(engine_api, mount_tune_keeps_what_is_not_named_as_vault) {
  ASSERT_EQ(call("POST", "sys/mounts/db2", {{"type", "database"}, {"config", {{"default_lease_ttl", ""}, {"max_lease_ttl", "10h"}}}}).first, 204);
  const std::vector<tune_step> steps = {
      // The CLI: vault secrets tune -default-lease-ttl=1h sends max_lease_ttl "" (keep).
      {"\"\" keeps", json::parse(R"({"options":null,"default_lease_ttl":"1h0m0s","max_lease_ttl":"","force_no_cache":false})"), 204, 3600, 36000},
      {"absent keeps", {{"max_lease_ttl", "5h"}}, 204, 3600, 18000},
      {"seconds as a number", {{"default_lease_ttl", 7200}}, 204, 7200, 18000},
      {"system resets", {{"max_lease_ttl", "system"}}, 204, 7200, 0},
      {"max below default", {{"max_lease_ttl", "1h"}}, 400, 7200, 0},
      {"bad duration", {{"default_lease_ttl", "soon"}}, 400, 7200, 0},
      {"description alone", {{"description", "moved"}}, 204, 7200, 0},
  };
  for (const auto& s : steps) {
    SCOPED_TRACE(s.name);
    auto [st, body] = call("POST", "sys/mounts/db2/tune", s.body);
    EXPECT_EQ(st, s.status) << body.dump();
    auto m = call("GET", "sys/mounts/db2").second;
    EXPECT_EQ(m["data"]["config"]["default_lease_ttl"], s.want_default);
    EXPECT_EQ(m["data"]["config"]["max_lease_ttl"], s.want_max);
  }
  auto [ms, m] = call("GET", "sys/mounts/db2");
  ASSERT_EQ(ms, 200) << m.dump();
  EXPECT_EQ(m["data"]["type"], "database");
  EXPECT_EQ(m["type"], "database");  // top level too
  EXPECT_EQ(m["data"]["description"], "moved");
  EXPECT_EQ(call("GET", "sys/mounts/db2/tune").second["data"]["max_lease_ttl"], limits_.max_ttl.count());
  EXPECT_EQ(call("POST", "sys/mounts/db2/tune", {{"max_lease_ttl", "1h"}, {"default_lease_ttl", "5h"}}).second["errors"][0],
            "backend max lease TTL of 3600 would be less than backend default lease TTL of 18000");
  EXPECT_EQ(call("POST", "sys/mounts/nope/tune", {{"default_lease_ttl", "1h"}}).second["errors"][0],
            "tune of path \"nope/\" failed: no mount entry found");
  EXPECT_EQ(call("GET", "sys/mounts/nope").first, 400);
  EXPECT_EQ(call("GET", "sys/mounts/sys").second["data"]["type"], "system");
}

TEST_F(engine_api, remount_moves_a_mount_without_leases_with_its_data) {
  configure();
  auto [s1, b1] = call("GET", "database/creds/app");
  ASSERT_EQ(s1, 200);
  auto [s2, b2] = call("POST", "sys/remount", {{"from", "database"}, {"to", "db/prod"}});
  EXPECT_EQ(s2, 400);
  EXPECT_NE(b2["errors"][0].get<std::string>().find("1 lease(s)"), std::string::npos) << b2.dump();
  ASSERT_EQ(call("PUT", "sys/leases/revoke-prefix/database").first, 204);
  auto [s3, b3] = call("POST", "sys/remount", {{"from", "database"}, {"to", "db/prod"}});
  ASSERT_EQ(s3, 200) << b3.dump();
  const std::string id = b3["data"]["migration_id"];
  auto [s4, b4] = call("GET", "sys/remount/status/" + id);
  ASSERT_EQ(s4, 200) << b4.dump();
  EXPECT_EQ(b4["data"]["migration_info"]["status"], "success");
  EXPECT_EQ(b4["data"]["migration_info"]["target_mount"], "db/prod");
  EXPECT_EQ(call("GET", "database/roles/app").first, 404);  // no mount there any more ...
  EXPECT_EQ(call("GET", "db/prod/roles/app").second["data"]["db_name"], "pg");  // ... its data moved
  auto [s5, b5] = call("GET", "db/prod/creds/app");
  ASSERT_EQ(s5, 200) << b5.dump();
  EXPECT_EQ(b5["lease_id"].get<std::string>().rfind("db/prod/creds/app/", 0), 0u);
  EXPECT_EQ(call("POST", "sys/remount", {{"from", "nope"}, {"to", "x"}}).first, 400);
  EXPECT_EQ(call("POST", "sys/remount", {{"from", "db/prod"}, {"to", "sys/x"}}).first, 400);
  EXPECT_EQ(call("POST", "sys/remount", {{"from", "auth/approle"}, {"to", "auth/other"}}).first, 400);
  EXPECT_EQ(call("GET", "sys/remount/status/nope").first, 404);
  restart();  // the move is durable
  EXPECT_EQ(call("GET", "db/prod/roles/app").first, 200);
}

TEST_F(engine_api, internal_ui_mounts_answer_the_kv_probe_of_consul_template) {
  auto [s, body] = call("GET", "sys/internal/ui/mounts/database/creds/app");
  ASSERT_EQ(s, 200) << body.dump();
  EXPECT_EQ(body["data"]["type"], "database");
  EXPECT_EQ(body["data"]["path"], "database/");
  EXPECT_TRUE(body["data"]["options"].is_null());  // not KV v2: consul-template reads the path as it is
  auto [ls, list] = call("GET", "sys/internal/ui/mounts");
  ASSERT_EQ(ls, 200);
  EXPECT_TRUE(list["data"]["secret"].contains("database/"));
  EXPECT_EQ(call("GET", "sys/internal/ui/mounts/nothing").first, 403);
}

// A write with a parameter the route does not know answers 200 with Vault's warning, not a bare 204.
TEST_F(engine_api, unknown_parameters_are_warned_about_even_on_writes_without_data) {
  configure();
  auto [s, body] = call("POST", "database/roles/app", {{"db_name", "pg"}, {"defualt_ttl", "1h"}});
  ASSERT_EQ(s, 200) << body.dump();
  EXPECT_EQ(body["warnings"], json({"Endpoint ignored these unrecognized parameters: [defualt_ttl]"}));
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(call("POST", "database/roles/app", {{"db_name", "pg"}}).first, 204);
}

// credential_config is Vault's TypeKVPairs: an object, "k=v", or a list of "k=v".
TEST_F(engine_api, credential_config_takes_vaults_kv_pair_forms) {
  configure();
  const std::vector<std::pair<json, json>> forms = {
      {{{"password_policy", "p"}}, {{"password_policy", "p"}}},
      {"password_policy=p", {{"password_policy", "p"}}},
      {json::array({"password_policy=p", "x=y=z"}), {{"password_policy", "p"}, {"x", "y=z"}}},
  };
  for (const auto& [given, stored] : forms) {
    SCOPED_TRACE(given.dump());
    ASSERT_EQ(call("POST", "database/roles/app", {{"db_name", "pg"}, {"credential_config", given}}).first, 204);
    EXPECT_EQ(call("GET", "database/roles/app").second["data"]["credential_config"], stored);
  }
  auto [s, body] = call("POST", "database/roles/app", {{"credential_config", "no-equals-sign"}});
  EXPECT_EQ(s, 400);
  EXPECT_EQ(body["errors"][0],
            "Field validation failed: error converting input for field \"credential_config\": invalid key value pair \"no-equals-sign\"");
}

// KV, transit, PKI and other auth methods are outside the project: Vault's own "no handler" answers.
TEST_F(engine_api, other_engines_and_methods_answer_vaults_no_handler) {
  for (const char* path : {"secret/data/app", "kv/app", "transit/encrypt/key", "pki/issue/web", "auth/userpass/login/u",
                           "auth/kubernetes/login", "identity/entity"}) {
    auto [s, body] = call(std::string(path).find("login") != std::string::npos ? "POST" : "GET", path);
    EXPECT_EQ(s, 404) << path;
    EXPECT_EQ(body["errors"][0], "no handler for route \"" + std::string(path) + "\". route entry not found.") << path;
  }
  auto [s, body] = call("POST", "sys/mounts/kv", {{"type", "kv"}});
  EXPECT_EQ(s, 400);
  EXPECT_NE(body["errors"][0].get<std::string>().find("unknown secrets engine type \"kv\""), std::string::npos);
}

}  // namespace
}  // namespace credbroker::test
