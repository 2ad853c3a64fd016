// The PostgreSQL plugin against the real PostgreSQL 15 started by scripts/test-servers.sh.
#include <gtest/gtest.h>

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

}  // namespace
