// Root rotation, static roles and the rotation scheduler through the API pipeline, with the fake
// plugin and a fake clock (the scheduler is driven by hand: rotations_->run_due()).
#include <gtest/gtest.h>

#include <set>

#include "support/engine_api.hpp"

using namespace credbroker;
using credbroker::test::engine_api;
using nlohmann::json;
using std::chrono::seconds;

namespace {

class rotation : public engine_api {
 protected:
  void SetUp() override {
    {
      std::lock_guard lock(db_->mu);
      db_->root_password = "root-secret";
      db_->users["svc"] = "initial";  // a pre-existing account for static roles
    }
    configure({{"allowed_roles", "*"}});
  }
  std::string stored_root_password() {
    auto c = engine()->read_config("pg");
    return c && c->has_value() ? (*c)->details.value("password", "") : "";
  }
  std::string db_root() {
    std::lock_guard lock(db_->mu);
    return db_->root_password;
  }
  std::string db_password(const std::string& user) {
    std::lock_guard lock(db_->mu);
    return db_->users[user];
  }
  void add_account(const std::string& user, const std::string& password) {
    std::lock_guard lock(db_->mu);
    db_->users[user] = password;
  }
  std::string wal_prefix() {
    auto dirs = store_.list("logical/");
    EXPECT_TRUE(dirs && dirs->size() == 1);
    return "logical/" + dirs->front() + "wal/";
  }
};

TEST_F(rotation, rotate_root_changes_the_password_in_the_database_and_the_config) {
  ASSERT_EQ(call("POST", "database/rotate-root/pg").first, 204);
  const std::string now = db_root();
  EXPECT_NE(now, "root-secret");
  EXPECT_EQ(now.size(), 20u);
  EXPECT_EQ(stored_root_password(), now);
  EXPECT_TRUE(store_.list(wal_prefix() + "root/")->empty());
  auto [s, body] = call("GET", "database/config/pg");
  EXPECT_FALSE(body["data"]["connection_details"].contains("password"));
  EXPECT_EQ(body.dump().find(now), std::string::npos);  // never readable through the API
  EXPECT_TRUE(body["data"]["last_root_rotation"].is_string());
  // Issuance still works with the rotated root.
  EXPECT_EQ(call("GET", "database/creds/app").first, 200);
}

TEST_F(rotation, a_refused_rotation_keeps_the_old_password_working) {
  db_->refuse_passwords = true;
  auto [s, body] = call("POST", "database/rotate-root/pg");
  EXPECT_EQ(s, 500);
  EXPECT_NE(body["errors"][0].get<std::string>().find("unable to rotate root credentials: password does not meet the policy"),
            std::string::npos);
  EXPECT_EQ(db_root(), "root-secret");
  EXPECT_EQ(stored_root_password(), "root-secret");
  EXPECT_TRUE(store_.list(wal_prefix() + "root/")->empty());  // settled at once: the stored one logs in
  // A config without a password cannot be rotated (Vault's text).
  ASSERT_EQ(call("POST", "database/config/nopw", {{"plugin_name", "fake-database-plugin"}, {"verify_connection", false}}).first, 204);
  auto [s2, b2] = call("POST", "database/rotate-root/nopw");
  EXPECT_EQ(s2, 500);
  EXPECT_EQ(b2["errors"][0], "1 error occurred:\n\t* unable to rotate root credentials: no username in configuration\n\n");
}

TEST_F(rotation, an_open_root_wal_is_settled_at_start_up_whatever_step_the_crash_hit) {
  struct step {
    const char* name;
    bool database_changed;
  };
  for (const step& st : {step{"crash before the database changed", false}, step{"crash after it changed", true}}) {
    SCOPED_TRACE(st.name);
    const std::string before = stored_root_password();
    const json wal = {{"connection", "pg"}, {"old_password", before}, {"new_password", std::string("NewRootPass-123") + st.name[15]}};
    ASSERT_TRUE(store_.put(wal_prefix() + "root/pg", wal.dump()));
    if (st.database_changed) {
      std::lock_guard lock(db_->mu);
      db_->root_password = wal["new_password"];
    }
    restart();
    EXPECT_TRUE(store_.list(wal_prefix() + "root/")->empty());
    EXPECT_EQ(stored_root_password(), st.database_changed ? wal["new_password"].get<std::string>() : before);
    EXPECT_EQ(stored_root_password(), db_root());  // whichever it is, the stored one logs in
    EXPECT_EQ(call("GET", "database/creds/app").first, 200);
  }
  // Neither password logs in (someone changed it by hand): the WAL is kept, nothing is lost.
  ASSERT_TRUE(store_.put(wal_prefix() + "root/pg", json{{"new_password", "NotItEither-1"}}.dump()));
  {
    std::lock_guard lock(db_->mu);
    db_->root_password = "changed-by-hand";
  }
  db_->refuse_passwords = true;  // and the fallback (finishing the change) is refused too
  restart();
  EXPECT_EQ(store_.list(wal_prefix() + "root/")->size(), 1u);
  // While it cannot be settled, no new rotation may write over it (it may hold the only password
  // that works): rotate-root refuses, and the WAL is exactly as it was.
  auto [s, body] = call("POST", "database/rotate-root/pg");
  EXPECT_EQ(s, 500);
  EXPECT_NE(body["errors"][0].get<std::string>().find("an earlier rotation is not settled yet"), std::string::npos);
  EXPECT_EQ(*store_.get(wal_prefix() + "root/pg"), std::optional<std::string>(json{{"new_password", "NotItEither-1"}}.dump()));
}

TEST_F(rotation, an_open_root_wal_is_settled_before_a_new_rotation_starts) {
  // The last run changed the database and was cut before storing: the WAL's password is the only one.
  ASSERT_TRUE(store_.put(wal_prefix() + "root/pg", json{{"new_password", "OnlyThisWorks-7"}}.dump()));
  {
    std::lock_guard lock(db_->mu);
    db_->root_password = "OnlyThisWorks-7";
  }
  ASSERT_EQ(call("POST", "database/rotate-root/pg").first, 204);  // settles, then rotates from it
  EXPECT_NE(db_root(), "OnlyThisWorks-7");
  EXPECT_EQ(stored_root_password(), db_root());
  EXPECT_TRUE(store_.list(wal_prefix() + "root/")->empty());
}

TEST_F(rotation, scheduled_root_rotation_runs_on_time_and_shows_on_config_read) {
  ASSERT_EQ(call("POST", "database/config/pg", {{"root_rotation_period", "1h"}}).first, 204);
  auto [s, body] = call("GET", "database/config/pg");
  EXPECT_EQ(body["data"]["root_rotation_period"], 3600);
  EXPECT_TRUE(body["data"]["next_root_rotation"].is_string());
  clock_.advance(seconds(3599));
  rotations_->run_due();
  EXPECT_EQ(db_root(), "root-secret");  // not early
  clock_.advance(seconds(2));
  rotations_->run_due();
  EXPECT_NE(db_root(), "root-secret");
  EXPECT_EQ(stored_root_password(), db_root());
  EXPECT_TRUE(call("GET", "database/config/pg").second["data"]["last_root_rotation"].is_string());
  // A schedule instead (cron, UTC); both at once is Vault's mutual-exclusion error.
  auto [s2, b2] = call("POST", "database/config/pg", {{"root_rotation_period", "1h"}, {"root_rotation_schedule", "0 * * * *"}});
  EXPECT_EQ(s2, 400);
  EXPECT_NE(b2["errors"][0].get<std::string>().find("mutually exclusive"), std::string::npos);
  auto [s3, b3] = call("POST", "database/config/pg", {{"root_rotation_schedule", "0 25 * * *"}});
  EXPECT_EQ(s3, 400);
  EXPECT_EQ(b3["errors"][0], "could not parse rotation_schedule: field 2 (hour): value 25 out of range 0-23");
  ASSERT_EQ(call("POST", "database/config/pg", {{"root_rotation_schedule", "0 * * * *"}}).first, 204);
  EXPECT_EQ(call("GET", "database/config/pg").second["data"]["root_rotation_schedule"], "0 * * * *");
}

struct static_case {
  const char* name;
  json body;
  int status;
  const char* error;
};

TEST_F(rotation, static_role_errors_as_vault) {
  const std::vector<static_case> cases = {
      {"no db_name", {{"username", "svc"}, {"rotation_period", 60}}, 400, "database name is a required field"},
      {"no username", {{"db_name", "pg"}, {"rotation_period", 60}}, 400, "username is a required field to create a static account"},
      {"neither", {{"db_name", "pg"}, {"username", "svc"}}, 400,
       "one of rotation_schedule or rotation_period must be provided to create a static account"},
      {"both", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 60}, {"rotation_schedule", "* * * * *"}}, 400,
       "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided"},
      {"short period", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 4}}, 400,
       "rotation_period must be 5 seconds or more"},
      {"bad schedule", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_schedule", "61 * * * *"}}, 400,
       "could not parse rotation_schedule: field 1 (minute): value 61 out of range 0-59"},
      {"window with period", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 60}, {"rotation_window", 7200}}, 400,
       "rotation_window is invalid with use of rotation_period"},
      {"short window", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_schedule", "0 * * * *"}, {"rotation_window", 60}}, 400,
       "rotation_window must be 3600 seconds or more"},
      {"name of a dynamic role", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 60}}, 400,
       "Role and Static Role names must be unique"},
      {"account missing", {{"db_name", "pg"}, {"username", "nobody"}, {"rotation_period", 60}}, 500, nullptr},
  };
  for (const auto& c : cases) {
    const std::string path = std::string("database/static-roles/") + (std::string(c.name) == "name of a dynamic role" ? "app" : "s");
    auto [status, body] = call("POST", path, c.body);
    EXPECT_EQ(status, c.status) << c.name << ": " << body.dump();
    if (c.error != nullptr) {
      EXPECT_EQ(body["errors"][0], c.error) << c.name;
    }
    EXPECT_EQ(call("GET", "database/static-roles/s").first, 404) << c.name << ": nothing is stored after an error";
  }
  EXPECT_EQ(call("GET", "database/static-creds/nope").second["errors"][0], "unknown role: nope");
  EXPECT_EQ(call("POST", "database/rotate-role/nope").second["errors"][0], "no static role found for role name");
}

TEST_F(rotation, a_static_role_rotates_at_once_then_on_schedule_and_its_creds_show_it) {
  ASSERT_EQ(call("POST", "database/static-roles/svc", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", "5m"}}).first, 204);
  const std::string first = db_password("svc");
  EXPECT_NE(first, "initial");  // rotated on create: the broker knows the password
  auto [s, creds] = call("GET", "database/static-creds/svc");
  ASSERT_EQ(s, 200);
  EXPECT_EQ(creds["data"]["username"], "svc");
  EXPECT_EQ(creds["data"]["password"], first);
  EXPECT_EQ(creds["data"]["rotation_period"], 300);
  EXPECT_EQ(creds["data"]["ttl"], 300);
  EXPECT_TRUE(creds["data"]["last_vault_rotation"].is_string());
  EXPECT_EQ(creds["lease_id"], "");
  auto [rs, role] = call("GET", "database/static-roles/svc");
  EXPECT_EQ(role["data"]["username"], "svc");
  EXPECT_EQ(role["data"]["rotation_period"], 300);
  EXPECT_FALSE(role["data"].contains("password"));
  EXPECT_EQ(call("LIST", "database/static-roles").second["data"]["keys"], json({"svc"}));
  EXPECT_EQ(call("PUT", "database/static-roles/svc", {{"username", "other"}}).second["errors"][0],
            "cannot update static account username");
  // On time, not before.
  clock_.advance(seconds(299));
  rotations_->run_due();
  EXPECT_EQ(db_password("svc"), first);
  clock_.advance(seconds(2));
  rotations_->run_due();
  const std::string second = db_password("svc");
  EXPECT_NE(second, first);
  EXPECT_EQ(call("GET", "database/static-creds/svc").second["data"]["password"], second);
  // By hand.
  ASSERT_EQ(call("POST", "database/rotate-role/svc").first, 204);
  EXPECT_NE(db_password("svc"), second);
  // Deleting the role keeps the account.
  ASSERT_EQ(call("DELETE", "database/static-roles/svc").first, 204);
  EXPECT_EQ(call("GET", "database/static-roles/svc").first, 404);
  std::lock_guard lock(db_->mu);
  EXPECT_TRUE(db_->users.contains("svc"));
}

TEST_F(rotation, a_failing_rotation_backs_off_with_fresh_passwords_and_is_visible) {
  ASSERT_EQ(call("POST", "database/static-roles/svc", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 60}}).first, 204);
  const std::string good = db_password("svc");
  db_->refuse_passwords = true;
  clock_.advance(seconds(61));
  rotations_->run_due();
  auto [s, role] = call("GET", "database/static-roles/svc");
  EXPECT_EQ(role["data"]["last_rotation_error"], "password does not meet the policy");
  EXPECT_EQ(role["data"]["rotation_attempts"], 1);
  EXPECT_TRUE(role["data"]["next_rotation_attempt"].is_string());
  EXPECT_EQ(call("GET", "database/static-creds/svc").second["data"]["password"], good);  // still the working one
  // Not in a tight loop: nothing before the backoff (10 s, then 20 s, 40 s ...).
  const int calls_after_first = db_->update_calls;
  clock_.advance(seconds(9));
  rotations_->run_due();
  EXPECT_EQ(db_->update_calls, calls_after_first);
  for (int i = 0; i < 4; ++i) {
    clock_.advance(seconds(10 << i));
    rotations_->run_due();
  }
  EXPECT_EQ(db_->update_calls, calls_after_first + 4);
  EXPECT_EQ(call("GET", "database/static-roles/svc").second["data"]["rotation_attempts"], 5);
  // Every attempt asked for a different password: never the one just refused.
  const std::set<std::string> distinct(db_->passwords_tried.begin(), db_->passwords_tried.end());
  EXPECT_EQ(distinct.size(), db_->passwords_tried.size());
  // The database accepts again: the next retry succeeds and the error clears.
  db_->refuse_passwords = false;
  clock_.advance(seconds(160));
  rotations_->run_due();
  auto [s2, after] = call("GET", "database/static-roles/svc");
  EXPECT_FALSE(after["data"].contains("last_rotation_error"));
  EXPECT_EQ(call("GET", "database/static-creds/svc").second["data"]["password"], db_password("svc"));
}

TEST_F(rotation, a_static_rotation_cut_by_a_crash_is_rolled_forward_and_due_ones_run_at_start_up) {
  ASSERT_EQ(call("POST", "database/static-roles/svc", {{"db_name", "pg"}, {"username", "svc"}, {"rotation_period", 60}}).first, 204);
  // The WAL of a rotation whose database change may or may not have happened.
  ASSERT_TRUE(store_.put(wal_prefix() + "static/svc", json{{"role", "svc"}, {"username", "svc"}, {"new_password", "FromTheWal-42"}}.dump()));
  restart();
  EXPECT_EQ(db_password("svc"), "FromTheWal-42");
  EXPECT_EQ(call("GET", "database/static-creds/svc").second["data"]["password"], "FromTheWal-42");
  EXPECT_TRUE(store_.list(wal_prefix() + "static/")->empty());
  // Down for longer than the period: the rotation that fell due runs as soon as the broker is back.
  clock_.advance(seconds(600));
  restart();
  rotations_->run_due();
  EXPECT_NE(db_password("svc"), "FromTheWal-42");
  EXPECT_EQ(call("GET", "database/static-creds/svc").second["data"]["password"], db_password("svc"));
}

TEST(rotation_scheduler, runs_due_jobs_in_order_never_early_and_replaces_by_key) {
  fake_clock clk{time_point{seconds{1'800'000'000}}};
  engine::rotation_scheduler s(clk);
  std::vector<std::string> ran;
  s.schedule("b", clk.now() + seconds(20), [&] { ran.push_back("b"); });
  s.schedule("a", clk.now() + seconds(10), [&] { ran.push_back("a"); });
  s.schedule("c", clk.now() + seconds(5), [&] { ran.push_back("c-old"); });
  s.schedule("c", clk.now() + seconds(30), [&] { ran.push_back("c"); });  // replaces
  s.schedule("gone", clk.now() + seconds(1), [&] { ran.push_back("gone"); });
  s.cancel_prefix("go");
  clk.advance(seconds(9));
  EXPECT_EQ(s.run_due(), 0u);
  clk.advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(s.run_due(), 1u);
  clk.advance(seconds(60));
  s.run_due();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(s.size(), 0u);
}

}  // namespace

// Vault's automated root rotation names drive the same scheduler as root_rotation_*.
TEST_F(rotation, vaults_rotation_names_drive_the_root_rotation) {
  ASSERT_EQ(call("POST", "database/config/pg", {{"rotation_period", 3600}}).first, 204);
  auto d = call("GET", "database/config/pg").second["data"];
  EXPECT_EQ(d["rotation_period"], 3600);
  EXPECT_EQ(d["rotation_schedule"], "");
  EXPECT_EQ(d["rotation_window"], 0);
  EXPECT_EQ(d["disable_automated_rotation"], false);
  EXPECT_EQ(d["root_rotation_period"], 3600);  // credbroker's earlier name shows the same setting
  clock_.advance(seconds(3601));
  rotations_->run_due();
  EXPECT_NE(db_root(), "root-secret");
  const std::string first = db_root();

  // disable_automated_rotation keeps the period but schedules nothing.
  ASSERT_EQ(call("POST", "database/config/pg", {{"disable_automated_rotation", true}}).first, 204);
  EXPECT_EQ(call("GET", "database/config/pg").second["data"]["disable_automated_rotation"], true);
  clock_.advance(seconds(7200));
  rotations_->run_due();
  EXPECT_EQ(db_root(), first);
  ASSERT_EQ(call("POST", "database/config/pg", {{"disable_automated_rotation", false}}).first, 204);
  clock_.advance(seconds(3601));
  rotations_->run_due();
  EXPECT_NE(db_root(), first);

  const std::vector<static_case> cases = {
      {"period and schedule", {{"rotation_period", 3600}, {"rotation_schedule", "0 * * * *"}}, 400,
       "mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided"},
      {"window with a period", {{"rotation_period", 3600}, {"rotation_window", 3600}}, 400, "rotation_window does not apply to period"},
      {"short period", {{"rotation_period", 2}}, 400, "rotation_period must be 5 seconds or more"},
      {"short window", {{"rotation_schedule", "0 * * * *"}, {"rotation_window", 60}}, 400, "rotation_window must be 3600 seconds or more"},
      {"schedule and window", {{"rotation_schedule", "0 3 * * *"}, {"rotation_window", "2h"}}, 204, nullptr},
  };
  for (const auto& c : cases) {
    auto [s, body] = call("POST", "database/config/pg", c.body);
    EXPECT_EQ(s, c.status) << c.name << ": " << body.dump();
    if (c.error != nullptr) {
      EXPECT_EQ(body["errors"][0], c.error) << c.name;
    }
  }
  d = call("GET", "database/config/pg").second["data"];
  EXPECT_EQ(d["rotation_schedule"], "0 3 * * *");
  EXPECT_EQ(d["rotation_window"], 7200);
  EXPECT_EQ(d["rotation_period"], 0);
}

// A scheduled root rotation later than its window waits for the next time of the schedule.
TEST_F(rotation, a_root_rotation_past_its_window_waits_for_the_next_time) {
  ASSERT_EQ(call("POST", "database/config/pg", {{"rotation_schedule", "0 * * * *"}, {"rotation_window", 3600}}).first, 204);
  const auto next = call("GET", "database/config/pg").second["data"]["next_root_rotation"];
  ASSERT_TRUE(next.is_string());
  clock_.advance(seconds(3 * 3600));  // the broker was busy (or down) past the window
  rotations_->run_due();
  EXPECT_EQ(db_root(), "root-secret");
  EXPECT_NE(call("GET", "database/config/pg").second["data"]["next_root_rotation"], next);
  clock_.advance(seconds(3600));
  rotations_->run_due();
  EXPECT_NE(db_root(), "root-secret");
}

// skip_import_rotation (or the connection's skip_static_role_import_rotation): the account is taken
// over as it is, with the password given, and rotated first at the end of its period.
TEST_F(rotation, static_roles_honour_skip_import_rotation) {
  add_account("imported", "current-pw");
  auto [s, body] = call("POST", "database/static-roles/imp",
                        {{"db_name", "pg"}, {"username", "imported"}, {"rotation_period", "1h"},
                         {"skip_import_rotation", true}, {"password", "current-pw"}});
  ASSERT_EQ(s, 204) << body.dump();
  EXPECT_EQ(db_password("imported"), "current-pw");
  EXPECT_EQ(call("GET", "database/static-creds/imp").second["data"]["password"], "current-pw");
  auto [s2, b2] = call("POST", "database/static-roles/imp", {{"skip_import_rotation", false}});
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(b2["errors"][0], "skip_import_rotation has no effect on updates");
  clock_.advance(seconds(3601));
  rotations_->run_due();
  EXPECT_NE(db_password("imported"), "current-pw");
  EXPECT_EQ(call("GET", "database/static-creds/imp").second["data"]["password"], db_password("imported"));

  // The connection's default, and no password given: a warning, and nothing rotated.
  ASSERT_EQ(call("POST", "database/config/pg", {{"skip_static_role_import_rotation", true}}).first, 204);
  EXPECT_EQ(call("GET", "database/config/pg").second["data"]["skip_static_role_import_rotation"], true);
  add_account("other", "other-pw");
  auto [s3, b3] = call("POST", "database/static-roles/oth", {{"db_name", "pg"}, {"username", "other"}, {"rotation_period", "1h"}});
  ASSERT_EQ(s3, 200) << b3.dump();
  EXPECT_NE(b3["warnings"][0].get<std::string>().find("skip_import_rotation"), std::string::npos);
  EXPECT_EQ(db_password("other"), "other-pw");
  // Without either, a create rotates at once (as before).
  add_account("third", "third-pw");
  ASSERT_EQ(call("POST", "database/static-roles/thr",
                 {{"db_name", "pg"}, {"username", "third"}, {"rotation_period", "1h"}, {"skip_import_rotation", false}})
                .first,
            204);
  EXPECT_NE(db_password("third"), "third-pw");
}
