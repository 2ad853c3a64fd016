// Vault's audit failure counters (broker/telemetry/audit_source.hpp): there at 0 once registered,
// one per hook call.
#include "broker/telemetry/audit_source.hpp"

#include <gtest/gtest.h>

#include "broker/telemetry/prometheus_text.hpp"
#include "support/metrics.hpp"

using namespace credbroker;
using test::metric_point;
using test::metric_value;

namespace {

TEST(audit_source, registered_at_zero_and_counted_by_the_hooks) {
  telemetry::register_audit_failures();
  ASSERT_TRUE(metric_point("vault.audit.log_request_failure"));
  ASSERT_TRUE(metric_point("vault.audit.log_response_failure"));
  const double requests = metric_value("vault.audit.log_request_failure");
  const double responses = metric_value("vault.audit.log_response_failure");
  telemetry::count_audit_request_failure();
  telemetry::count_audit_request_failure();
  telemetry::count_audit_response_failure();
  EXPECT_EQ(metric_value("vault.audit.log_request_failure"), requests + 2);
  EXPECT_EQ(metric_value("vault.audit.log_response_failure"), responses + 1);
  const auto text = telemetry::render_prometheus(telemetry::global_registry().collect({}));
  EXPECT_NE(text.find("# TYPE vault_audit_log_request_failure untyped\nvault_audit_log_request_failure "),
            std::string::npos);
}

}  // namespace
