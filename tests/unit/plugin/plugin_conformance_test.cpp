// The plugin conformance kit (tests/support/plugin_conformance.hpp) on the fake plugin the engine's
// unit tests use, so the fake keeps the contract the real plugins keep.
#include "support/fake_plugin.hpp"
#include "support/plugin_conformance.hpp"

namespace credbroker::test {
namespace {

class fake_database_under_test final : public database_under_test {
 public:
  fake_database_under_test() : db_(std::make_shared<testing_support::fake_database>()) {
    db_->root_password = "root-password-1";
  }
  std::unique_ptr<plugin::database_plugin> make() override { return std::make_unique<testing_support::fake_plugin>(db_); }
  nlohmann::json config() override {
    std::lock_guard lock(db_->mu);
    return {{"username", "root"}, {"password", db_->root_password}};
  }
  std::string prefix() override { return "v-token-kit-"; }
  std::vector<std::string> creation_statements() override { return {"CREATE USER"}; }
  std::vector<std::string> bad_creation_statements() override {
    return {"CREATE USER", testing_support::fake_plugin::invalid_statement};
  }
  bool logs_in(const std::string& user, const std::string& password) override {
    std::lock_guard lock(db_->mu);
    if (user == "root") return password == db_->root_password;
    auto it = db_->users.find(user);
    return it != db_->users.end() && it->second == password;
  }
  std::string root_user() override { return "root"; }
  void set_root_password_out_of_band(const std::string& password) override {
    std::lock_guard lock(db_->mu);
    db_->root_password = password;
  }

 private:
  std::shared_ptr<testing_support::fake_database> db_;
};

INSTANTIATE_TEST_SUITE_P(fake, plugin_conformance,
                         ::testing::Values(named_plugin{"fake", [] { return std::make_unique<fake_database_under_test>(); }}),
                         plugin_name);

}  // namespace
}  // namespace credbroker::test
