#pragma once
// The plugin conformance kit: one suite of checks every database plugin must pass (the contract in
// broker/plugin/database_plugin.hpp), run on each plugin by instantiating it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(redis, plugin_conformance,
//                            ::testing::Values(test::named_plugin{"redis", make_redis_database}),
//                            test::plugin_name);
//
// The checks live in plugin_conformance.cpp, compiled into each test binary that instantiates them:
// unit_tests (the fake plugin) and integration_tests (PostgreSQL and Redis on the real servers).
// Each database under test gets a root login of its own for the run (so changing its password out
// of band touches no other test) and a username prefix of its own; its destructor removes both
// and every user the run made.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/plugin/database_plugin.hpp"

namespace credbroker::test {

// One database and the means to look at it without the plugin.
class database_under_test {
 public:
  virtual ~database_under_test() = default;
  // A fresh, uninitialised plugin instance.
  virtual std::unique_ptr<plugin::database_plugin> make() = 0;
  // A working connection config for this run's root login (with its current password), whose
  // username_template starts every name with prefix().
  virtual nlohmann::json config() = 0;
  virtual std::string prefix() = 0;
  // Statements that make a user who can log in with its password, and statements the database
  // refuses (so new_user fails).
  virtual std::vector<std::string> creation_statements() = 0;
  virtual std::vector<std::string> bad_creation_statements() = 0;
  // Whether a fresh client (sharing nothing with the plugin) logs in as user with password.
  virtual bool logs_in(const std::string& user, const std::string& password) = 0;
  // The root login's name, and a change of its password behind the plugin's back.
  virtual std::string root_user() = 0;
  virtual void set_root_password_out_of_band(const std::string& password) = 0;
};

struct named_plugin {
  std::string name;
  std::function<std::unique_ptr<database_under_test>()> make;
};

inline void PrintTo(const named_plugin& p, std::ostream* os) { *os << p.name; }
inline std::string plugin_name(const ::testing::TestParamInfo<named_plugin>& p) { return p.param.name; }

class plugin_conformance : public ::testing::TestWithParam<named_plugin> {
 protected:
  void SetUp() override {
    db_ = GetParam().make();
    ASSERT_NE(db_, nullptr);
  }
  // A plugin initialised (and verified) with config(), as broker boot `boot`.
  std::unique_ptr<plugin::database_plugin> connected(const std::string& boot = "conformance-boot");
  database_under_test& db() { return *db_; }
  std::unique_ptr<database_under_test> db_;
};

}  // namespace credbroker::test
