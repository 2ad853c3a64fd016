// metered_plugin (broker/plugin/metered_plugin.hpp): every verb reaches the wrapped plugin unchanged,
// and each call is counted under Vault's names and ours.
#include "broker/plugin/metered_plugin.hpp"

#include <gtest/gtest.h>

#include "support/fake_plugin.hpp"
#include "support/metrics.hpp"

using namespace credbroker;
using test::metric_count;
using test::metric_value;

namespace {

struct metered : ::testing::Test {
  std::shared_ptr<testing_support::fake_database> db = std::make_shared<testing_support::fake_database>();
  plugin::metered_plugin p{std::make_unique<testing_support::fake_plugin>(db)};
};

TEST_F(metered, forwards_every_verb) {
  db->config_keys = {"connection_url"};
  EXPECT_EQ(p.type(), "fake");
  EXPECT_EQ(p.config_keys(), std::vector<std::string>{"connection_url"});
  auto init = p.initialize({{{"password", "root"}}, false});
  ASSERT_TRUE(init);
  EXPECT_TRUE(init->config.value("normalised", false));
  auto name = p.generate_username({"token", "app"});
  ASSERT_TRUE(name);
  plugin::new_user_request nu;
  nu.username = *name;
  nu.statements = {"CREATE"};
  nu.password = secret("pw");
  ASSERT_TRUE(p.new_user(nu));
  EXPECT_EQ(db->users.at(*name), "pw");
  EXPECT_TRUE(*p.user_exists(*name));
  plugin::update_user_request up;
  up.username = *name;
  up.password = plugin::change_password{secret("pw2"), {}};
  ASSERT_TRUE(p.update_user(up));
  EXPECT_EQ(db->users.at(*name), "pw2");
  ASSERT_TRUE(p.rotate_root({secret("newroot"), {}}));
  EXPECT_EQ(db->root_password, "newroot");
  ASSERT_TRUE(p.verify());
  ASSERT_TRUE(p.end_sessions("boot-1"));
  EXPECT_EQ(db->ended_boots, std::vector<std::string>{"boot-1"});
  ASSERT_TRUE(p.delete_user({*name, {}}));
  EXPECT_FALSE(*p.user_exists(*name));
  EXPECT_EQ(p.list_users().err().code, make_error_code(errc::unsupported_operation));  // the fake's default
  ASSERT_TRUE(p.close());
  db->down = true;
  const auto failed = p.delete_user({"x", {}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.err().message, "database down");  // the inner error, unchanged
}

TEST_F(metered, counts_calls_and_failures_under_vaults_names_and_ours) {
  const auto vault_new = metric_count("vault.database.NewUser");
  const auto vault_new_typed = metric_count("vault.database.fake.NewUser");
  const auto vault_new_errors = metric_value("vault.database.NewUser.error");
  const auto vault_new_typed_errors = metric_value("vault.database.fake.NewUser.error");
  const auto ours = metric_count("credbroker.database.operation_duration_seconds", {{"plugin", "fake"}, {"operation", "new_user"}});
  const auto our_errors = metric_value("credbroker.database.operation_errors_total", {{"plugin", "fake"}, {"operation", "new_user"}});
  const auto exists = metric_count("credbroker.database.operation_duration_seconds", {{"operation", "user_exists"}});
  plugin::new_user_request nu;
  nu.username = "u1";
  nu.statements = {"CREATE"};
  ASSERT_TRUE(p.new_user(nu));
  nu.statements.clear();  // the fake refuses: empty creation statements
  ASSERT_FALSE(p.new_user(nu));
  (void)p.user_exists("u1");
  EXPECT_EQ(metric_count("vault.database.NewUser"), vault_new + 2);
  EXPECT_EQ(metric_count("vault.database.fake.NewUser"), vault_new_typed + 2);
  EXPECT_EQ(metric_value("vault.database.NewUser.error"), vault_new_errors + 1);
  EXPECT_EQ(metric_value("vault.database.fake.NewUser.error"), vault_new_typed_errors + 1);
  EXPECT_EQ(metric_count("credbroker.database.operation_duration_seconds", {{"plugin", "fake"}, {"operation", "new_user"}}),
            ours + 2);
  EXPECT_EQ(metric_value("credbroker.database.operation_errors_total", {{"plugin", "fake"}, {"operation", "new_user"}}),
            our_errors + 1);
  EXPECT_EQ(metric_count("credbroker.database.operation_duration_seconds", {{"operation", "user_exists"}}), exists + 1);
  EXPECT_EQ(metric_value("credbroker.database.calls_in_flight", {{"plugin", "fake"}}), 0);
}

TEST_F(metered, rotations_by_kind_and_outcome) {
  auto value = [](const char* kind, const char* outcome) {
    return metric_value("credbroker.rotations_total", {{"kind", kind}, {"plugin", "fake"}, {"outcome", outcome}});
  };
  const double root_ok = value("root", "success"), root_failed = value("root", "failure");
  const double static_ok = value("static", "success"), static_failed = value("static", "failure");
  const auto update_user_vault = metric_count("vault.database.UpdateUser");
  ASSERT_TRUE(p.rotate_root({secret("r1"), {}}));
  db->refuse_passwords = true;
  ASSERT_FALSE(p.rotate_root({secret("r2"), {}}));
  db->refuse_passwords = false;
  db->users["acct"] = "old";
  plugin::update_user_request up;
  up.username = "acct";
  up.password = plugin::change_password{secret("new"), {}};
  ASSERT_TRUE(p.update_user(up));
  up.username = "missing";
  ASSERT_FALSE(p.update_user(up));
  plugin::update_user_request renew;  // an expiry change is no rotation
  renew.username = "acct";
  renew.expiration = plugin::change_expiration{plugin::time_point{}, {}};
  ASSERT_TRUE(p.update_user(renew));
  EXPECT_EQ(value("root", "success"), root_ok + 1);
  EXPECT_EQ(value("root", "failure"), root_failed + 1);
  EXPECT_EQ(value("static", "success"), static_ok + 1);
  EXPECT_EQ(value("static", "failure"), static_failed + 1);
  EXPECT_EQ(metric_count("vault.database.UpdateUser"), update_user_vault + 5);  // root rotation is an UpdateUser in Vault
}

TEST(meter_plugins, every_factory_makes_metered_instances) {
  auto db = std::make_shared<testing_support::fake_database>();
  plugin::registry r;
  r.add("fake-database-plugin", [db] { return std::make_unique<testing_support::fake_plugin>(db); });
  plugin::meter_plugins(r);
  EXPECT_EQ(r.names(), std::vector<std::string>{"fake-database-plugin"});
  auto inst = r.create("fake-database-plugin");
  ASSERT_TRUE(inst);
  EXPECT_NE(dynamic_cast<plugin::metered_plugin*>(inst->get()), nullptr);
  EXPECT_EQ((*inst)->type(), "fake");
  EXPECT_FALSE(r.create("nope"));
}

}  // namespace
