// The PostgreSQL plugin against the real PostgreSQL 15 started by scripts/test-servers.sh.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "broker/core/random.hpp"
#include "broker/plugin/registry.hpp"
#include "plugins/builtin.hpp"
#include "support/env.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class postgres_plugin : public ::testing::Test {
 protected:
  void SetUp() override {
    plugins::register_builtin_plugins(registry_);
    url_ = test::env_or_fail("CREDBROKER_TEST_PG_URL");
    user_ = test::env_or_fail("CREDBROKER_TEST_PG_USER");
    password_ = test::env_or_fail("CREDBROKER_TEST_PG_PASSWORD");
    ASSERT_FALSE(url_.empty() || user_.empty() || password_.empty());
  }
  std::unique_ptr<plugin::database_plugin> make() {
    auto p = registry_.create("postgresql-database-plugin");
    EXPECT_TRUE(p.ok());
    return std::move(*p);
  }
  // Initialised against the shared server as broker run `boot` (a random one by default).
  std::unique_ptr<plugin::database_plugin> connect(json extra = json::object(), std::string boot = "") {
    auto p = make();
    json cfg{{"connection_url", url_}, {"username", user_}, {"password", password_}};
    cfg.update(extra);
    plugin::initialize_request req{cfg, true, boot.empty() ? "t" + random_alnum(15) : boot};
    auto r = p->initialize(req);
    EXPECT_TRUE(r.ok()) << r.err().message;
    return p;
  }
  // An observer session of the test itself (no broker tag).
  std::string observer_url() const {
    return "postgresql://" + user_ + ":" + password_ + "@" + test::env_or_fail("CREDBROKER_TEST_PG_HOST") + ":" +
           test::env_or_fail("CREDBROKER_TEST_PG_PORT") + "/postgres";
  }
  long sessions_tagged(const std::string& boot) {
    pqxx::connection c(observer_url());
    pqxx::nontransaction tx(c);
    return tx.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", "credbroker:" + boot)[0][0]
        .as<long>();
  }
  // Whether psql logs in as user with password (a client that shares nothing with the broker).
  bool psql_logs_in(const std::string& user, const std::string& password) {
    ::setenv("PGPASSWORD", password.c_str(), 1);
    const std::string cmd = "psql -h " + test::env_or_fail("CREDBROKER_TEST_PG_HOST") + " -p " +
                            test::env_or_fail("CREDBROKER_TEST_PG_PORT") + " -U '" + user +
                            "' -d postgres -w -Atc 'SELECT 1' 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    ::unsetenv("PGPASSWORD");
    if (f == nullptr) return false;
    char buf[16] = {};
    const bool one = std::fgets(buf, sizeof buf, f) != nullptr && std::string(buf) == "1\n";
    return ::pclose(f) == 0 && one;
  }
  plugin::registry registry_;
  std::string url_, user_, password_;
};

TEST_F(postgres_plugin, verifies_a_working_connection) {
  auto p = make();
  EXPECT_EQ(p->type(), "postgres");
  auto r = p->initialize({json{{"connection_url", url_}, {"username", user_}, {"password", password_}}, true});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->config["max_open_connections"], 4);
  EXPECT_TRUE(p->verify().ok());
  EXPECT_TRUE(p->close().ok());
  EXPECT_FALSE(p->verify().ok());
}

TEST_F(postgres_plugin, wrong_password_is_refused_without_echoing_it) {
  auto p = make();
  const std::string wrong = "Wrong-Password-4711";
  auto r = p->initialize({json{{"connection_url", url_}, {"username", user_}, {"password", wrong}}, true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, make_error_code(errc::unavailable));
  EXPECT_NE(r.err().message.find("error verifying connection"), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find(wrong), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find(password_), std::string::npos);
}

TEST_F(postgres_plugin, unreachable_server_fails_within_the_timeout) {
  auto p = make();
  const auto start = std::chrono::steady_clock::now();
  // 192.0.2.0/24 is never routed; but we only send to loopback: use a closed loopback port.
  auto r = p->initialize({json{{"connection_url", "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres"},
                               {"username", user_}, {"password", password_}, {"connect_timeout", 2}},
                          true});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.err().message.find(password_), std::string::npos);
}

TEST_F(postgres_plugin, config_errors) {
  auto p = make();
  auto r = p->initialize({json{{"username", user_}}, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message, "connection_url cannot be empty");
  r = p->initialize({json{{"connection_url", url_}, {"max_open_connections", 0}}, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message, "max_open_connections must be at least 1");
  // Without verification the config is accepted even with a wrong password.
  EXPECT_TRUE(p->initialize({json{{"connection_url", url_}, {"username", user_}, {"password", "x"}}, false}).ok());
}

TEST_F(postgres_plugin, unknown_plugin_name) {
  auto p = registry_.create("mysql-database-plugin");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.err().message,
            "unknown plugin_name \"mysql-database-plugin\"; known plugins: postgresql-database-plugin, "
            "redis-database-plugin");
}

// Each quoting context a {{password}} can stand in issues a password that logs in (psql), for
// passwords made of what breaks naive quoting: quotes, backslashes, dollar tags.
TEST_F(postgres_plugin, every_quoting_context_issues_a_password_that_logs_in) {
  const std::vector<std::pair<std::string, std::string>> contexts = {
      {"single quotes", R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}')"},
      {"escape string", R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD E'{{password}}')"},
      {"dollar quotes", R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD $p${{password}}$p$)"},
      {"empty dollar tag", R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD $${{password}}$$)"},
      {"bare", R"(CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}})"},
      {"DO block", R"(DO $$ BEGIN CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; END $$)"},
      {"DO block, literal", R"(DO $do$ BEGIN EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', '{{name}}', $p${{password}}$p$); END $do$)"},
  };
  const std::vector<std::string> passwords = {R"(it's \ "x")", R"(\'; SELECT 1; --)", "a$p$b$$c", "ends$p", R"(E'\\')",
                                              "$cb$x$cb1$"};
  for (const bool standard : {true, false}) {
    SCOPED_TRACE(standard ? "standard_conforming_strings on" : "standard_conforming_strings off");
    json extra = json::object();
    if (!standard) extra["connection_url"] = url_ + "?options=-c%20standard_conforming_strings%3Doff";
    auto p = connect(extra);
    for (const auto& [what, statement] : contexts) {
      SCOPED_TRACE(what);
      for (const auto& pw : passwords) {
        SCOPED_TRACE("password " + pw);
        auto name = p->generate_username({"token", "quoting"});
        ASSERT_TRUE(name.ok());
        plugin::new_user_request req;
        req.username = *name;
        req.statements = {statement};
        req.password = secret(pw);
        req.expiration = std::chrono::system_clock::now() + std::chrono::hours(1);
        auto made = p->new_user(req);
        ASSERT_TRUE(made.ok()) << made.err().message;
        EXPECT_TRUE(psql_logs_in(*name, pw));
        EXPECT_FALSE(psql_logs_in(*name, pw + "x"));
        ASSERT_TRUE(p->delete_user({*name, {}}).ok());
      }
    }
  }
}

// A creation of a dead broker run waiting on a lock is ended by the next run's end_sessions, which
// returns only once that backend is gone; other runs' sessions are not touched.
TEST_F(postgres_plugin, end_sessions_ends_only_that_runs_sessions_and_waits_for_them) {
  const std::string schema = "es_" + random_alnum(8);
  pqxx::connection admin(observer_url());
  {
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE SCHEMA " + schema + "; CREATE TABLE " + schema + ".t (x int)");
  }
  const std::string dead_boot = "dead" + random_alnum(12), live_boot = "live" + random_alnum(12);
  const std::string next_boot = "next" + random_alnum(12);
  auto dead = connect(json::object(), dead_boot);
  auto live = connect(json::object(), live_boot);
  auto next = connect(json::object(), next_boot);
  ASSERT_TRUE(live->user_exists("nobody").ok());  // an idle session of another live run
  pqxx::connection locker(observer_url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE " + schema + ".t IN ACCESS EXCLUSIVE MODE");
  auto name = dead->generate_username({"token", "dead"});
  ASSERT_TRUE(name.ok());
  auto creation = std::async(std::launch::async, [&] {
    plugin::new_user_request req;
    req.username = *name;
    req.statements = {R"(CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'; SELECT count(*) FROM )" + schema + ".t"};
    req.password = secret("pw");
    req.expiration = std::chrono::system_clock::now() + std::chrono::hours(1);
    return dead->new_user(req);
  });
  for (int i = 0; i < 200 && sessions_tagged(dead_boot) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(sessions_tagged(dead_boot), 1);
  EXPECT_FALSE(next->end_sessions(next_boot).ok()) << "its own sessions must be refused";
  // The "dead" run does nothing more (a live one would retry once its lost backend is gone).
  ASSERT_TRUE(dead->close().ok());
  auto ended = next->end_sessions(dead_boot);
  ASSERT_TRUE(ended.ok()) << ended.err().message;
  EXPECT_EQ(sessions_tagged(dead_boot), 0) << "end_sessions returned before the backend was gone";
  EXPECT_EQ(sessions_tagged(live_boot), 1) << "another run's session was ended";
  lock.commit();
  const auto r = creation.get();
  EXPECT_FALSE(r.ok()) << "the creation was terminated";
  auto exists = next->user_exists(*name);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
  // Nothing of that run left: a success at once.
  EXPECT_TRUE(next->end_sessions(dead_boot).ok());
  pqxx::nontransaction tx(admin);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
}

// Idle sessions are closed after max_connection_idle_time, without any further call.
TEST_F(postgres_plugin, idle_sessions_are_closed_after_the_idle_time) {
  const std::string boot = "idle" + random_alnum(12);
  auto p = connect({{"max_open_connections", 4}, {"max_connection_idle_time", "1s"}}, boot);
  std::vector<std::future<result<ok_t>>> calls;
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    auto name = p->generate_username({"token", "idle"});
    ASSERT_TRUE(name.ok());
    names.push_back(*name);
  }
  for (const auto& n : names) {
    calls.push_back(std::async(std::launch::async, [&p, n] {
      plugin::new_user_request req;
      req.username = n;
      req.statements = {R"(CREATE ROLE "{{name}}"; SELECT pg_sleep(0.5))"};
      req.password = secret("pw");
      req.expiration = std::chrono::system_clock::now() + std::chrono::hours(1);
      return p->new_user(req);
    }));
  }
  for (auto& c : calls) ASSERT_TRUE(c.get().ok());
  EXPECT_EQ(sessions_tagged(boot), 4);
  long left = 4;
  for (int i = 0; i < 100 && (left = sessions_tagged(boot)) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(left, 0) << "idle sessions were kept past max_connection_idle_time";
  for (const auto& n : names) EXPECT_TRUE(p->delete_user({n, {}}).ok());
}

}  // namespace
