// usage_gauges (broker/engine/usage_gauges.hpp): the census of leases and rotations after refresh(),
// and the connection pools read at every scrape, in telemetry::global_registry().
#include "broker/engine/usage_gauges.hpp"

#include <gtest/gtest.h>

#include "support/engine_api.hpp"
#include "support/metrics.hpp"

using namespace credbroker;
using test::metric_point;
using test::metric_value;
using std::chrono::seconds;

namespace {

using usage_gauges_test = test::engine_api;

TEST_F(usage_gauges_test, leases_by_mount_role_and_state_after_refresh) {
  configure();
  ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  ASSERT_EQ(call("GET", "database/creds/app").first, 200);
  engine::usage_gauges usage(store_, engines_, clock_);
  EXPECT_FALSE(metric_point("credbroker.leases", {{"mount", "database/"}, {"role", "app"}}));  // none before a census
  usage.refresh();
  EXPECT_EQ(metric_value("credbroker.leases", {{"mount", "database/"}, {"role", "app"}, {"state", "active"}}), 2);
  EXPECT_EQ(metric_value("vault.expire.num_irrevocable_leases"), 0);
  EXPECT_EQ(metric_value("credbroker.lease.revocation_backlog"), 0);
  clock_.advance(seconds{2 * 3600});  // expired, the expiry driver has not run: the backlog
  usage.refresh();
  EXPECT_EQ(metric_value("credbroker.lease.revocation_backlog"), 2);
  EXPECT_TRUE(metric_point("credbroker.rotation.failed_attempts", {{"mount", "database/"}, {"kind", "root"}, {"name", "pg"}}));
}

TEST_F(usage_gauges_test, pools_of_connections_in_use_at_every_scrape) {
  configure();
  engine::usage_gauges usage(store_, engines_, clock_);
  const test::metric_labels pg = {{"mount", "database/"}, {"connection", "pg"}};
  ASSERT_EQ(call("GET", "database/creds/app").first, 200);  // the connection's plugin instance exists now
  {
    std::lock_guard lock(db_->mu);
    db_->pool = {3, 2, 1, 4};
  }
  EXPECT_EQ(metric_value("credbroker.database.pool_open_connections", pg), 3);
  EXPECT_EQ(metric_value("credbroker.database.pool_in_use_connections", pg), 2);
  EXPECT_EQ(metric_value("credbroker.database.pool_waiters", pg), 1);
  EXPECT_EQ(metric_value("credbroker.database.pool_max_open_connections", pg), 4);
  {
    std::lock_guard lock(db_->mu);
    db_->pool.waiters = 0;
  }
  EXPECT_EQ(metric_value("credbroker.database.pool_waiters", pg), 0);  // read at the scrape, no refresh
}

}  // namespace
