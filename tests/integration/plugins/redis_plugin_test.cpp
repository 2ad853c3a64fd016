// The Redis plugin against the real Redis 7 started by scripts/test-servers.sh.
#include <gtest/gtest.h>

#include "broker/plugin/registry.hpp"
#include "plugins/builtin.hpp"
#include "support/env.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

class redis_plugin : public ::testing::Test {
 protected:
  void SetUp() override {
    plugins::register_builtin_plugins(registry_);
    host_ = test::env_or_fail("CREDBROKER_TEST_REDIS_HOST");
    port_ = test::env_or_fail("CREDBROKER_TEST_REDIS_PORT");
    user_ = test::env_or_fail("CREDBROKER_TEST_REDIS_USER");
    password_ = test::env_or_fail("CREDBROKER_TEST_REDIS_PASSWORD");
    ASSERT_FALSE(host_.empty() || port_.empty() || user_.empty() || password_.empty());
    auto p = registry_.create("redis-database-plugin");
    ASSERT_TRUE(p.ok());
    plugin_ = std::move(*p);
  }
  json config(const std::string& password) const {
    return json{{"host", host_}, {"port", std::stoi(port_)}, {"username", user_}, {"password", password}};
  }
  plugin::registry registry_;
  std::unique_ptr<plugin::database_plugin> plugin_;
  std::string host_, port_, user_, password_;
};

TEST_F(redis_plugin, verifies_a_working_connection) {
  EXPECT_EQ(plugin_->type(), "redis");
  auto r = plugin_->initialize({config(password_), true});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(plugin_->verify().ok());
  EXPECT_TRUE(plugin_->close().ok());
  EXPECT_FALSE(plugin_->verify().ok());
}

TEST_F(redis_plugin, wrong_password_is_refused_without_echoing_it) {
  const std::string wrong = "Wrong-Password-4711";
  auto r = plugin_->initialize({config(wrong), true});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("error verifying connection"), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find(wrong), std::string::npos) << r.err().message;
}

TEST_F(redis_plugin, config_errors_table) {
  struct row {
    std::function<void(json&)> edit;
    const char* error;
  };
  const std::vector<row> rows = {
      {[](json& c) { c.erase("host"); }, "host cannot be empty"},
      {[](json& c) { c.erase("port"); }, "port cannot be empty"},
      {[](json& c) { c["port"] = "abc"; }, "port must be an integer"},
      {[](json& c) { c["port"] = 70000; }, "port must be between 1 and 65535"},
      {[](json& c) { c.erase("username"); }, "username cannot be empty"},
      {[](json& c) { c["password"] = ""; }, "password cannot be empty"},
      {[](json& c) { c["tls"] = true; }, "tls not supported by this build (Debian's hiredis 0.14 has no TLS support)"},
  };
  for (const auto& r : rows) {
    json c = config(password_);
    r.edit(c);
    auto res = plugin_->initialize({c, false});
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.err().message, r.error);
  }
}

}  // namespace
