// The plugin conformance kit (tests/support/plugin_conformance.hpp) on the PostgreSQL plugin against
// the real PostgreSQL 15 started by scripts/test-servers.sh. The run logs in as a superuser role of
// its own (REASSIGN OWNED in the default revocation needs the rights of the dropped role).
#include <pqxx/pqxx>

#include "broker/core/random.hpp"
#include "broker/plugin/registry.hpp"
#include "plugins/builtin.hpp"
#include "support/env.hpp"
#include "support/plugin_conformance.hpp"

namespace credbroker::test {
namespace {

std::string url_for(const std::string& user, const std::string& password) {
  return "host=" + env_or_fail("CREDBROKER_TEST_PG_HOST") + " port=" + env_or_fail("CREDBROKER_TEST_PG_PORT") +
         " dbname=postgres user='" + user + "' password='" + password + "' connect_timeout=5";
}

class postgres_database_under_test final : public database_under_test {
 public:
  postgres_database_under_test()
      : root_("kitroot_" + lower(random_alnum(8))), prefix_("kit" + lower(random_alnum(6)) + "_"),
        root_password_("Root-" + random_alnum(24)) {
    plugins::register_builtin_plugins(registry_);
    admin([&](pqxx::nontransaction& tx) {
      tx.exec0("CREATE ROLE " + tx.quote_name(root_) + " LOGIN SUPERUSER PASSWORD " + tx.quote(root_password_));
    });
  }
  ~postgres_database_under_test() override {
    admin([&](pqxx::nontransaction& tx) {
      tx.exec_params0("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", root_);
      const auto made = tx.exec_params("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", prefix_);
      for (const auto& row : made) tx.exec0("DROP ROLE IF EXISTS " + tx.quote_name(row[0].as<std::string>()));
      tx.exec0("DROP ROLE IF EXISTS " + tx.quote_name(root_));
    });
  }
  std::unique_ptr<plugin::database_plugin> make() override {
    auto p = registry_.create("postgresql-database-plugin");
    EXPECT_TRUE(p.ok());
    return p.ok() ? std::move(*p) : nullptr;
  }
  nlohmann::json config() override {
    const std::string url = "postgresql://{{username}}:{{password}}@" + env_or_fail("CREDBROKER_TEST_PG_HOST") + ":" +
                            env_or_fail("CREDBROKER_TEST_PG_PORT") + "/postgres";
    return {{"connection_url", url}, {"username", root_}, {"password", root_password_},
            {"username_template", prefix_ + "{{random 20}}"}};
  }
  std::string prefix() override { return prefix_; }
  std::vector<std::string> creation_statements() override {
    return {R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}')"};
  }
  // The role is created, then the transaction fails: nothing may be left.
  std::vector<std::string> bad_creation_statements() override {
    return {R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}')", "SELECT no_such_function_kit()"};
  }
  bool logs_in(const std::string& user, const std::string& password) override {
    try {
      pqxx::connection c(url_for(user, password));
      return c.is_open();
    } catch (const std::exception&) {
      return false;
    }
  }
  std::string root_user() override { return root_; }
  void set_root_password_out_of_band(const std::string& password) override {
    root_password_ = password;
    admin([&](pqxx::nontransaction& tx) {
      tx.exec0("ALTER ROLE " + tx.quote_name(root_) + " PASSWORD " + tx.quote(password));
    });
  }

 private:
  static std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }
  // Runs f on a session of the test servers' admin login.
  template <class F>
  void admin(F f) {
    try {
      pqxx::connection c(url_for(env_or_fail("CREDBROKER_TEST_PG_USER"), env_or_fail("CREDBROKER_TEST_PG_PASSWORD")));
      pqxx::nontransaction tx(c);
      f(tx);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "admin session: " << e.what();
    }
  }
  plugin::registry registry_;
  std::string root_, prefix_, root_password_;
};

INSTANTIATE_TEST_SUITE_P(postgres, plugin_conformance,
                         ::testing::Values(named_plugin{"postgres",
                                                        [] { return std::make_unique<postgres_database_under_test>(); }}),
                         plugin_name);

}  // namespace
}  // namespace credbroker::test
