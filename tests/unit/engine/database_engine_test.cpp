// The database secrets engine through the whole API pipeline (sys/mounts, config, roles, creds,
// sys/leases), with the fake plugin, an in-memory store and a fake clock.
#include <gtest/gtest.h>

#include <cmath>

#include <algorithm>
#include <optional>

#include "support/engine_api.hpp"

using namespace credbroker;
using credbroker::test::engine_api;
using nlohmann::json;
using std::chrono::seconds;

namespace {

struct api_case {
  const char* name;
  std::string method, path;
  json body;
  int status;
  json expect;  // fragment of the response body (null: not checked)
};

TEST_F(engine_api, config_and_role_errors_as_vault) {
  configure();
  const std::vector<api_case> cases = {
      {"missing plugin_name", "POST", "database/config/other", {{"connection_url", "x"}}, 400,
       {{"errors", {"empty plugin name"}}}},
      {"unknown plugin", "POST", "database/config/other", {{"plugin_name", "mysql-database-plugin"}}, 400, nullptr},
      {"plugin refuses config", "POST", "database/config/other", {{"plugin_name", "fake-database-plugin"}, {"invalid", true}},
       400, {{"errors", {"error creating database object: config is invalid"}}}},
      // Vault checks a config's password policy when it makes a password, not when the config is written.
      {"password policy that does not exist yet", "POST", "database/config/other",
       {{"plugin_name", "fake-database-plugin"}, {"password_policy", "later"}}, 204, nullptr},
      {"role without db_name", "POST", "database/roles/r", {{"creation_statements", "x"}}, 400,
       {{"errors", {"database name is required"}}}},
      {"role bad credential type", "POST", "database/roles/r", {{"db_name", "pg"}, {"credential_type", "magic"}}, 400,
       {{"errors", {"invalid credential_type \"magic\""}}}},
      // Vault stores default_ttl > max_ttl and caps the leases (engine_api.role_ttl_above_max_ttl_is_capped).
      {"role ttl over max", "POST", "database/roles/r", {{"db_name", "pg"}, {"default_ttl", 10}, {"max_ttl", 5}}, 204, nullptr},
      {"role bad duration", "POST", "database/roles/r", {{"db_name", "pg"}, {"default_ttl", "soon"}}, 400, nullptr},
      {"bad role name", "POST", "database/roles/-x", {{"db_name", "pg"}}, 404, nullptr},
      {"read missing config", "GET", "database/config/nope", nullptr, 404, {{"errors", json::array()}}},
      {"read missing role", "GET", "database/roles/nope", nullptr, 404, {{"errors", json::array()}}},
      {"creds unknown role", "GET", "database/creds/nope", nullptr, 400, {{"errors", {"unknown role: nope"}}}},
      {"reset unknown connection", "POST", "database/reset/nope", nullptr, 500,
       {{"errors", {"1 error occurred:\n\t* failed to find entry for connection with name: \"nope\"\n\n"}}}},
      {"list configs", "LIST", "database/config", nullptr, 200, {{"data", {{"keys", {"other", "pg"}}}}}},
      {"list roles", "LIST", "database/roles", nullptr, 200, {{"data", {{"keys", {"app", "r"}}}}}},
      {"reset", "POST", "database/reset/pg", nullptr, 204, nullptr},
  };
  for (const auto& c : cases) {
    const auto [status, body] = call(c.method, c.path, c.body);
    EXPECT_EQ(status, c.status) << c.name << ": " << body.dump();
    std::string why;
    if (!c.expect.is_null()) {
      EXPECT_TRUE(test::json_contains(body, c.expect, &why)) << c.name << ": " << why;
    }
  }
}

TEST_F(engine_api, config_read_is_redacted_and_literal_url_passwords_warn) {
  configure();
  auto [status, body] = call("GET", "database/config/pg");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["data"]["plugin_name"], "fake-database-plugin");
  EXPECT_EQ(body["data"]["allowed_roles"], json({"app", "my-*-role"}));
  EXPECT_FALSE(body["data"]["connection_details"].contains("password"));
  EXPECT_EQ(body["data"]["connection_details"]["normalised"], true);  // the plugin's normalised config is kept
  EXPECT_EQ(body.dump().find("root-secret"), std::string::npos);

  auto [s2, b2] = call("POST", "database/config/lit", {{"plugin_name", "fake-database-plugin"},
                                                       {"connection_url", "postgresql://admin:hunter2@db:5432/x"}});
  ASSERT_EQ(s2, 200);
  EXPECT_EQ(b2["warnings"][0],
            "Password found in connection_url, use a templated url to enable root rotation and prevent read access to "
            "password information.");
  auto [s3, b3] = call("GET", "database/config/lit");
  EXPECT_EQ(b3["data"]["connection_details"]["connection_url"], "postgresql://admin:xxxxx@db:5432/x");

  // Update merges over the stored details; the password stays usable without being resent.
  ASSERT_EQ(call("POST", "database/config/pg", {{"max_open_connections", 9}}).first, 204);
  std::lock_guard lock(db_->mu);
  const auto stored = json::parse(db_->last_config);
  EXPECT_EQ(stored["password"], "root-secret");
  EXPECT_EQ(stored["max_open_connections"], 9);
}

TEST_F(engine_api, creds_create_a_user_with_a_durable_active_lease) {
  configure();
  auto [status, body] = call("GET", "database/creds/app");
  ASSERT_EQ(status, 200) << body.dump();
  const std::string id = body["lease_id"];
  EXPECT_EQ(id.rfind("database/creds/app/", 0), 0u);
  EXPECT_EQ(id.size(), std::string("database/creds/app/").size() + 24);
  EXPECT_EQ(body["lease_duration"], 3600);
  EXPECT_EQ(body["renewable"], true);
  const std::string user = body["data"]["username"];
  const std::string pw = body["data"]["password"];
  EXPECT_EQ(user.rfind("v-root-app-", 0), 0u);
  EXPECT_EQ(pw.size(), 20u);
  {
    std::lock_guard lock(db_->mu);
    ASSERT_TRUE(db_->users.contains(user));
    EXPECT_EQ(db_->users[user], pw);
    EXPECT_EQ(db_->valid_until[user], clock_.now() + seconds(3600 + 5));  // VALID UNTIL = expiry + 5 s
  }
  auto l = leases_->lookup(id);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->state, leases::lease_state::active);
  EXPECT_EQ(l->username, user);
  EXPECT_EQ(l->connection, "pg");

  // Globs in allowed_roles; a role outside them is refused with Vault's 500.
  ASSERT_EQ(call("POST", "database/roles/my-ro-role", {{"db_name", "pg"}, {"creation_statements", "x"}}).first, 204);
  EXPECT_EQ(call("GET", "database/creds/my-ro-role").first, 200);
  ASSERT_EQ(call("POST", "database/roles/other", {{"db_name", "pg"}, {"creation_statements", "x"}}).first, 204);
  auto [s3, b3] = call("GET", "database/creds/other");
  EXPECT_EQ(s3, 500);
  EXPECT_EQ(b3["errors"][0], "1 error occurred:\n\t* \"other\" is not an allowed role\n\n");
  // A role without creation statements gets the plugin's error, and leaves nothing behind.
  ASSERT_EQ(call("POST", "database/roles/my-empty-role", {{"db_name", "pg"}}).first, 204);
  auto [s4, b4] = call("GET", "database/creds/my-empty-role");
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(b4["errors"][0], "empty creation statements");
  EXPECT_EQ(leases_->count(), 2u);
  EXPECT_EQ(users(), 2u);
}

TEST_F(engine_api, ttl_is_capped_by_the_mount_with_vaults_warning) {
  configure();
  ASSERT_EQ(call("POST", "sys/mounts/database/tune", {{"max_lease_ttl", "30m"}}).first, 204);
  auto [status, body] = call("GET", "database/creds/app");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["lease_duration"], 1800);
  ASSERT_TRUE(body["warnings"].is_array());
  EXPECT_EQ(body["warnings"][0], "TTL of \"1h\" exceeded the effective max_ttl of \"30m\"; TTL value is capped accordingly");
}

TEST_F(engine_api, failed_creation_leaves_neither_user_nor_lease) {
  configure();
  db_->fail_new_user = true;
  EXPECT_EQ(call("GET", "database/creds/app").first, 500);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);

  // The database created the user but the answer was lost: the engine deletes it before forgetting.
  db_->fail_new_user = false;
  db_->crash_after_create = true;
  EXPECT_EQ(call("GET", "database/creds/app").first, 500);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);
}

TEST_F(engine_api, database_down_keeps_the_pending_lease_until_it_can_be_revoked) {
  configure();
  clock_.advance(seconds(61));  // a lease of this term, not an inherited one (lease_manager.hpp)
  db_->down = true;
  auto [status, body] = call("GET", "database/creds/app");
  EXPECT_EQ(status, 500);
  EXPECT_EQ(body["errors"][0], "1 error occurred:\n\t* database down\n\n");
  // Nothing could be checked, so the pending lease stays (it holds everything needed to revoke).
  ASSERT_EQ(leases_->count(), 1u);
  db_->down = false;
  clock_.advance(seconds(3601));
  run_due();
  EXPECT_EQ(leases_->count(), 0u);
  EXPECT_GE(db_->delete_calls, 2);
}

TEST_F(engine_api, a_revocation_during_issuance_leaves_no_user) {
  configure();
  db_->during_new_user = [this] { EXPECT_TRUE(leases_->revoke_prefix("database/creds/app")); };
  auto [status, body] = call("GET", "database/creds/app");
  EXPECT_EQ(status, 500);
  EXPECT_NE(body["errors"][0].get<std::string>().find("was revoked while its credentials were being issued"),
            std::string::npos);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);
  db_->during_new_user = nullptr;
  EXPECT_EQ(call("GET", "database/creds/app").first, 200);
}

TEST_F(engine_api, pending_leases_are_settled_at_start_up) {
  configure();
  // Two crashes between "lease written as pending" and "lease marked active": in one the user was
  // created, in the other not.
  for (const char* suffix : {"AAAAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBBBB"}) {
    leases::lease l;
    l.id = std::string("database/creds/app/") + suffix;
    l.connection = "pg";
    l.role = "app";
    l.username = std::string("v-crash-") + suffix;
    l.issue_time = clock_.now();
    l.expire_time = clock_.now() + seconds(3600);
    l.state = leases::lease_state::pending;
    ASSERT_TRUE(leases_->add(l));
  }
  {
    std::lock_guard lock(db_->mu);
    db_->users["v-crash-AAAAAAAAAAAAAAAAAAAAAAAA"] = "pw";
  }
  restart();
  auto kept = leases_->lookup("database/creds/app/AAAAAAAAAAAAAAAAAAAAAAAA");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->state, leases::lease_state::active);
  EXPECT_FALSE(leases_->lookup("database/creds/app/BBBBBBBBBBBBBBBBBBBBBBBB"));
  EXPECT_EQ(leases_->count(), 1u);
}

// A crash while the database still runs creations of the dead process (issue 14): they may commit
// after the restart asked user_exists. Each test writes the dead process's pending leases itself and
// puts their creations in flight in the fake database under that process's boot id.
class engine_crash : public engine_api {
 protected:
  // A pending lease of the current process whose creation is still running in the database.
  std::string crashed_issuance(const std::string& suffix) {
    leases::lease l;
    l.id = "database/creds/app/" + suffix;
    l.connection = "pg";
    l.role = "app";
    l.username = "v-crash-" + suffix;
    l.issue_time = clock_.now();
    l.expire_time = clock_.now() + seconds(3600);
    l.state = leases::lease_state::pending;
    l.boot = boot_;
    EXPECT_TRUE(leases_->add(l));
    std::lock_guard lock(db_->mu);
    db_->in_flight[boot_].push_back(l.username);
    return l.id;
  }
  std::optional<leases::lease> lease_of(const std::string& id) {
    auto l = leases_->lookup(id);
    if (!l) return std::nullopt;
    return *l;
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(db_->mu);
    return db_->calls;
  }
  void clear_calls() {
    std::lock_guard lock(db_->mu);
    db_->calls.clear();
  }
  std::size_t count_of(const std::string& call) {
    const auto c = calls();
    return static_cast<std::size_t>(std::count(c.begin(), c.end(), call));
  }
  // Credentials of the role "app" as the API answers them (lease_id, data.username).
  json creds() {
    auto [status, body] = call("GET", "database/creds/app");
    EXPECT_EQ(status, 200) << body.dump();
    return body;
  }
};

TEST_F(engine_crash, issuance_records_its_boot_while_the_creation_is_in_doubt) {
  configure();
  std::optional<leases::lease> during;
  db_->during_new_user = [&] {
    auto pending = leases_->list("database/creds/app/");
    ASSERT_TRUE(pending && pending->size() == 1u);
    during = lease_of("database/creds/app/" + pending->front());
  };
  auto [status, body] = call("GET", "database/creds/app");
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_TRUE(during);
  EXPECT_EQ(during->state, leases::lease_state::pending);
  EXPECT_EQ(during->boot, boot_);
  auto after = lease_of(body["lease_id"]);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, leases::lease_state::active);
  EXPECT_EQ(after->boot, "");  // nothing in doubt any more
}

TEST_F(engine_crash, the_dead_process_sessions_end_before_user_exists_is_asked) {
  configure();
  const std::string dead = boot_;
  const auto a = crashed_issuance("AAAAAAAAAAAAAAAAAAAAAAAA");
  const auto b = crashed_issuance("BBBBBBBBBBBBBBBBBBBBBBBB");
  restart();
  // Ended once for both leases, and before either was looked up.
  std::vector<std::string> ended;
  {
    std::lock_guard lock(db_->mu);
    ended = db_->ended_boots;
  }
  EXPECT_EQ(ended, std::vector<std::string>{dead});
  const auto c = calls();
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.front(), "end_sessions " + dead);
  EXPECT_NE(std::find(c.begin(), c.end(), "user_exists v-crash-AAAAAAAAAAAAAAAAAAAAAAAA"), c.end());
  EXPECT_FALSE(lease_of(a));
  EXPECT_FALSE(lease_of(b));
  // The lock the creations waited on goes: nothing of the dead process is left to commit.
  EXPECT_EQ(db_->commit_in_flight(dead), 0u);
  EXPECT_EQ(users(), 0u);
}

TEST_F(engine_crash, sessions_that_cannot_be_ended_keep_the_lease_pending_until_they_can) {
  configure();
  const std::string dead = boot_;
  const auto id = crashed_issuance("CCCCCCCCCCCCCCCCCCCCCCCC");
  db_->fail_end_sessions = true;
  restart();
  auto kept = lease_of(id);
  ASSERT_TRUE(kept) << "a pending lease was forgotten while its creation could still commit";
  EXPECT_EQ(kept->state, leases::lease_state::pending);
  for (const auto& call : calls()) EXPECT_EQ(call.rfind("user_exists", 0), std::string::npos) << call;
  // Its creation commits while the broker cannot end it.
  EXPECT_EQ(db_->commit_in_flight(dead), 1u);
  // Retried later: not before the backoff, then settled (the user exists: kept).
  mounts_->reconcile_due();
  EXPECT_EQ(lease_of(id)->state, leases::lease_state::pending);
  db_->fail_end_sessions = false;
  clock_.advance(seconds(5));
  mounts_->reconcile_due();
  ASSERT_TRUE(lease_of(id));
  EXPECT_EQ(lease_of(id)->state, leases::lease_state::active);
  EXPECT_EQ(lease_of(id)->boot, "");
  // The user and its lease go together.
  EXPECT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", id}}).first, 204);
  EXPECT_EQ(users(), 0u);
}

TEST_F(engine_crash, an_expired_pending_lease_of_a_dead_process_is_revoked_only_after_its_sessions_end) {
  configure();
  const std::string dead = boot_;
  const auto id = crashed_issuance("DDDDDDDDDDDDDDDDDDDDDDDD");
  db_->fail_end_sessions = true;
  restart();
  clock_.advance(seconds(3601));
  run_due();
  auto l = lease_of(id);
  ASSERT_TRUE(l) << "revoked (and forgotten) while its creation could still commit";
  EXPECT_EQ(l->state, leases::lease_state::revoking);
  EXPECT_NE(l->last_error.find("could not be ended"), std::string::npos) << l->last_error;
  EXPECT_EQ(l->boot, dead);  // still in doubt
  EXPECT_EQ(db_->commit_in_flight(dead), 1u);
  db_->fail_end_sessions = false;
  clock_.advance(seconds(60));
  run_due();
  EXPECT_FALSE(lease_of(id));
  EXPECT_EQ(users(), 0u);
}

// A revocation cut between the database and the record (a crash, or HA: the active paused and
// another node took over): the next process inherits the record of a user that is gone.
TEST_F(engine_crash, an_inherited_lease_whose_user_is_gone_is_not_revoked_again) {
  configure();
  const json issued = creds();
  const std::string id = issued["lease_id"], user = issued["data"]["username"];
  {
    std::lock_guard lock(db_->mu);
    db_->users.erase(user);  // the earlier process's revocation committed; its record stayed
  }
  clear_calls();
  restart();
  ASSERT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", id}}).first, 204);
  EXPECT_FALSE(lease_of(id));
  EXPECT_EQ(count_of("delete_user " + user), 0u) << "the revocation statements ran twice";
  // The earlier process's sessions ended before the user was looked up.
  const auto c = calls();
  const auto ended = std::find(c.begin(), c.end(), "end_sessions boot1");
  const auto asked = std::find(c.begin(), c.end(), "user_exists " + user);
  ASSERT_NE(ended, c.end());
  ASSERT_NE(asked, c.end());
  EXPECT_LT(ended - c.begin(), asked - c.begin());
}

TEST_F(engine_crash, an_inherited_lease_whose_user_exists_is_revoked_and_an_own_one_is_not_looked_up) {
  configure();
  const json inherited = creds();
  restart();
  clock_.advance(seconds(61));  // past the margin for other nodes' clocks: what is issued now is this term's
  const json own = creds();
  const std::vector<std::pair<json, bool>> cases = {{inherited, true}, {own, false}};
  for (const auto& [issued, looked_up] : cases) {
    SCOPED_TRACE(issued["lease_id"].get<std::string>());
    clear_calls();
    const std::string user = issued["data"]["username"];
    ASSERT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", issued["lease_id"]}}).first, 204);
    EXPECT_EQ(count_of("delete_user " + user), 1u);
    EXPECT_EQ(count_of("user_exists " + user), looked_up ? 1u : 0u);
  }
  EXPECT_EQ(users(), 0u);
}

TEST_F(engine_crash, an_inherited_lease_is_revoked_when_the_plugin_cannot_tell_whether_its_user_is_gone) {
  configure();
  const json issued = creds();
  const std::string id = issued["lease_id"], user = issued["data"]["username"];
  restart();
  db_->fail_lookups = true;
  ASSERT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", id}}).first, 204);
  EXPECT_EQ(count_of("user_exists " + user), 1u);
  EXPECT_EQ(count_of("delete_user " + user), 1u);
  EXPECT_FALSE(lease_of(id));
  EXPECT_EQ(users(), 0u);
}

TEST_F(engine_crash, a_plugin_that_cannot_end_sessions_never_settles_by_guessing) {
  configure();
  (void)crashed_issuance("EEEEEEEEEEEEEEEEEEEEEEEE");
  restart();
  // This process's own boot is never ended (its sessions are the ones serving now).
  for (const auto& call : calls()) EXPECT_NE(call, "end_sessions " + boot_);
  auto p = plugins_.create("fake-database-plugin");
  ASSERT_TRUE(p);
  ASSERT_TRUE((*p)->initialize({json::object(), false, "me"}));
  EXPECT_FALSE((*p)->end_sessions("me"));
}

TEST_F(engine_api, a_pool_only_config_update_needs_no_new_login) {
  configure();
  // The database has no connection to spare (too many clients): a verified update would fail.
  db_->down = true;
  EXPECT_EQ(call("POST", "database/config/pg", {{"max_open_connections", 2}}).first, 204);
  EXPECT_EQ(call("POST", "database/config/pg", {{"max_idle_connections", 1}, {"max_connection_lifetime", "1m"}}).first, 204);
  auto [status, body] = call("GET", "database/config/pg");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["data"]["connection_details"]["max_open_connections"], 2);
  // Anything else is verified as before.
  EXPECT_EQ(call("POST", "database/config/pg", {{"connection_url", "fake://other"}}).first, 400);
}

TEST_F(engine_api, renew_and_revoke_reach_the_database_even_after_the_role_is_deleted) {
  configure();
  auto [status, body] = call("GET", "database/creds/app");
  ASSERT_EQ(status, 200);
  const std::string id = body["lease_id"];
  const std::string user = body["data"]["username"];
  ASSERT_EQ(call("DELETE", "database/roles/app").first, 204);
  clock_.advance(seconds(600));
  auto [rs, rb] = call("PUT", "sys/leases/renew", {{"lease_id", id}, {"increment", 1800}});
  ASSERT_EQ(rs, 200) << rb.dump();
  EXPECT_EQ(rb["lease_duration"], 1800);
  {
    std::lock_guard lock(db_->mu);
    EXPECT_EQ(db_->valid_until[user], clock_.now() + seconds(1800 + 5));
  }
  EXPECT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", id}}).first, 204);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);
}

TEST_F(engine_api, expiry_and_revoke_prefix_drop_users) {
  configure();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  EXPECT_EQ(users(), 3u);
  clock_.advance(seconds(3599));
  run_due();
  EXPECT_EQ(users(), 3u);  // never early
  clock_.advance(seconds(1));
  run_due();
  EXPECT_EQ(users(), 0u);

  for (int i = 0; i < 2; ++i) ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  EXPECT_EQ(call("PUT", "sys/leases/revoke-prefix/database/creds/app").first, 204);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);
}

TEST_F(engine_api, disabling_the_mount_revokes_its_leases_and_deletes_its_data) {
  configure();
  ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  db_->down = true;
  auto [s1, b1] = call("DELETE", "sys/mounts/database");
  EXPECT_EQ(s1, 500);  // a user that cannot be dropped keeps the mount: nothing is orphaned
  EXPECT_EQ(call("GET", "database/roles/app").first, 200);
  db_->down = false;
  EXPECT_EQ(call("DELETE", "sys/mounts/database").first, 204);
  EXPECT_EQ(users(), 0u);
  EXPECT_EQ(leases_->count(), 0u);
  EXPECT_TRUE(store_.list("logical/")->empty());
  // Mounting again starts empty.
  ASSERT_EQ(call("POST", "sys/mounts/database", {{"type", "database"}}).first, 204);
  EXPECT_EQ(call("GET", "database/roles/app").first, 404);
}

TEST_F(engine_api, password_policy_of_the_connection_shapes_passwords) {
  ASSERT_EQ(call("PUT", "sys/policies/password/digits",
                 {{"policy", "length = 12\nrule \"charset\" {\n  charset = \"0123456789\"\n}\n"}})
                .first,
            204);
  configure({{"password_policy", "digits"}});
  auto [status, body] = call("GET", "database/creds/app");
  ASSERT_EQ(status, 200);
  const std::string pw = body["data"]["password"];
  EXPECT_EQ(pw.size(), 12u);
  EXPECT_EQ(pw.find_first_not_of("0123456789"), std::string::npos);
  auto [gs, gb] = call("GET", "sys/policies/password/digits/generate");
  ASSERT_EQ(gs, 200);
  EXPECT_EQ(gb["data"]["password"].get<std::string>().size(), 12u);
}

// The engine hands the plugin the entropy of the policy a password came from, and answers the
// plugin's warnings about a policy on role, static role and connection writes.
TEST_F(engine_api, password_policy_entropy_reaches_the_plugin_and_its_warnings_the_writer) {
  ASSERT_EQ(call("PUT", "sys/policies/password/pin", {{"policy", "length = 6\nrule \"charset\" { charset = \"0123456789\" }"}})
                .first,
            204);
  db_->min_password_bits = 100;
  configure({{"allowed_roles", "*"}});
  ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  EXPECT_NEAR(db_->last_entropy_bits, 117.5, 0.001);  // the default policy
  auto [rs, rb] = call("POST", "database/roles/weak",
                       {{"db_name", "pg"}, {"creation_statements", "c"}, {"credential_config", {{"password_policy", "pin"}}}});
  ASSERT_EQ(rs, 200) << rb.dump();
  EXPECT_EQ(rb["warnings"], nlohmann::json::array({"weak: 19 bits"}));
  ASSERT_EQ(call("GET", "database/creds/weak").first, 200);
  EXPECT_NEAR(db_->last_entropy_bits, 6 * std::log2(10.0), 1e-9);
  // A strong policy, and a policy not written yet (checked when a password is made), warn nothing.
  EXPECT_EQ(call("POST", "database/roles/strong", {{"db_name", "pg"}, {"creation_statements", "c"}}).first, 204);
  EXPECT_EQ(call("POST", "database/roles/later", {{"db_name", "pg"}, {"creation_statements", "c"},
                                                 {"credential_config", {{"password_policy", "later"}}}})
                .first,
            204);
  auto [cs, cb] = call("POST", "database/config/pg", {{"password_policy", "pin"}});
  ASSERT_EQ(cs, 200) << cb.dump();
  EXPECT_EQ(cb["warnings"], nlohmann::json::array({"weak: 19 bits"}));
}

TEST_F(engine_api, several_mounts_keep_their_own_connections) {
  configure();
  ASSERT_EQ(call("POST", "sys/mounts/team-a/db", {{"type", "database"}}).first, 204);
  EXPECT_EQ(call("GET", "team-a/db/config/pg").first, 404);
  ASSERT_EQ(call("POST", "team-a/db/config/pg", {{"plugin_name", "fake-database-plugin"}, {"allowed_roles", "*"}}).first, 204);
  ASSERT_EQ(call("POST", "team-a/db/roles/x", {{"db_name", "pg"}, {"creation_statements", "c"}}).first, 204);
  auto [status, body] = call("GET", "team-a/db/creds/x");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["lease_id"].get<std::string>().rfind("team-a/db/creds/x/", 0), 0u);
  auto [ms, mb] = call("GET", "sys/mounts");
  EXPECT_TRUE(mb["data"].contains("team-a/db/"));
  EXPECT_EQ(mb["data"]["database/"]["type"], "database");
  // The lease is revoked through its own mount.
  EXPECT_EQ(call("PUT", "sys/leases/revoke", {{"lease_id", body["lease_id"]}}).first, 204);
  EXPECT_EQ(users(), 0u);
}

}  // namespace

// Vault checks a config's password policy when it makes a password: a config may name a policy
// written later; creds fail (400) until it exists, then follow it.
TEST_F(engine_api, password_policy_is_checked_when_a_password_is_made) {
  configure({{"password_policy", "later"}});
  auto [s1, b1] = call("GET", "database/creds/app");
  EXPECT_EQ(s1, 400) << b1.dump();
  EXPECT_EQ(b1["errors"][0], "password policy \"later\" does not exist");
  EXPECT_EQ(users(), 0u);
  ASSERT_EQ(call("POST", "sys/policies/password/later",
                 {{"policy", "length = 12\nrule \"charset\" {\n  charset = \"0123456789\"\n}\n"}})
                .first,
            204);
  auto [s2, b2] = call("GET", "database/creds/app");
  ASSERT_EQ(s2, 200) << b2.dump();
  const std::string pw = b2["data"]["password"];
  EXPECT_EQ(pw.size(), 12u);
  EXPECT_EQ(pw.find_first_not_of("0123456789"), std::string::npos);
}

// Vault accepts default_ttl > max_ttl on a role, reads it back as written, and caps each lease.
TEST_F(engine_api, role_ttl_above_max_ttl_is_capped) {
  configure();
  ASSERT_EQ(call("POST", "database/roles/app", {{"db_name", "pg"}, {"default_ttl", "2h"}, {"max_ttl", "1h"}}).first, 204);
  auto role = call("GET", "database/roles/app").second["data"];
  EXPECT_EQ(role["default_ttl"], 7200);
  EXPECT_EQ(role["max_ttl"], 3600);
  auto [s, body] = call("GET", "database/creds/app");
  ASSERT_EQ(s, 200) << body.dump();
  EXPECT_EQ(body["lease_duration"], 3600);
  ASSERT_TRUE(body["warnings"].is_array());
  EXPECT_NE(body["warnings"][0].get<std::string>().find("TTL value is capped"), std::string::npos);
}

// A key the plugin does not read is not stored as a connection detail nobody reads: a warning says so.
TEST_F(engine_api, config_keys_the_plugin_does_not_read_are_warned_and_dropped) {
  {
    std::lock_guard lock(db_->mu);
    db_->config_keys = {"connection_url", "username", "password"};
  }
  auto [s, body] = call("POST", "database/config/pg", {{"plugin_name", "fake-database-plugin"},
                                                        {"connection_url", "fake://{{username}}:{{password}}@db"},
                                                        {"username", "admin"},
                                                        {"password", "root-secret"},
                                                        {"allowed_roles", "app"},
                                                        {"tls_ca", "x"},
                                                        {"max_open_connection", 9}});
  ASSERT_EQ(s, 200) << body.dump();
  ASSERT_EQ(body["warnings"].size(), 1u);
  EXPECT_EQ(body["warnings"][0],
            "fake-database-plugin does not read these parameters, which were not stored: [max_open_connection tls_ca]");
  const auto details = call("GET", "database/config/pg").second["data"]["connection_details"];
  EXPECT_FALSE(details.contains("tls_ca"));
  EXPECT_FALSE(details.contains("max_open_connection"));
  EXPECT_EQ(details["username"], "admin");
  auto [s2, b2] = call("POST", "database/config/pg", {{"username", "admin"}});
  EXPECT_EQ(s2, 204) << b2.dump();  // only known keys: no warning
}
