// Vault's JSON shape of sys/metrics (broker/telemetry/vault_json.hpp): go-metrics' MetricsSummary.
#include "broker/telemetry/vault_json.hpp"

#include <gtest/gtest.h>

#include "broker/telemetry/registry.hpp"

namespace credbroker::telemetry {
namespace {

TEST(VaultJson, TimestampIsGoTimeStringInUtc) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1800000000600));
  EXPECT_EQ(go_utc_timestamp(t), "2027-01-15 08:00:01 +0000 UTC");  // rounded to the second
}

TEST(VaultJson, GaugesCountersAndSamplesInVaultsShape) {
  registry r;
  r.gauges("vault.core.unsealed", "h", {"cluster"}).with({"c1"}).set(1);
  r.counters("vault.token.creation", "h", {"auth_method"}).with({"token"}).add(4);
  r.counters("vault.audit.log_request_failure", "h").get();
  auto& t = r.summaries("vault.core.handle_request", "h");
  t.get().observe(0.001);
  t.get().observe(0.003);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  const auto j = render_vault_json(r.collect({}), now);
  EXPECT_EQ(j["Timestamp"], "2027-01-15 08:00:00 +0000 UTC");
  EXPECT_EQ(j["Points"], nlohmann::json::array());
  ASSERT_EQ(j["Gauges"].size(), 1u);
  EXPECT_EQ(j["Gauges"][0], (nlohmann::json{{"Name", "vault.core.unsealed"}, {"Value", 1.0}, {"Labels", {{"cluster", "c1"}}}}));
  ASSERT_EQ(j["Counters"].size(), 2u);
  const auto& failures = j["Counters"][0];
  EXPECT_EQ(failures["Name"], "vault.audit.log_request_failure");
  EXPECT_EQ(failures["Count"], 0);
  EXPECT_EQ(failures["Labels"], nlohmann::json::object());
  const auto& tokens = j["Counters"][1];
  EXPECT_EQ(tokens["Name"], "vault.token.creation");
  EXPECT_EQ(tokens["Count"], 4);
  EXPECT_EQ(tokens["Sum"], 4.0);
  EXPECT_EQ(tokens["Mean"], 1.0);
  EXPECT_EQ(tokens["Stddev"], 0.0);
  EXPECT_EQ(tokens["Labels"], (nlohmann::json{{"auth_method", "token"}}));
  for (const char* k : {"Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"}) {
    EXPECT_TRUE(tokens.contains(k)) << k;
  }
  ASSERT_EQ(j["Samples"].size(), 1u);
  const auto& s = j["Samples"][0];
  EXPECT_EQ(s["Name"], "vault.core.handle_request");
  EXPECT_EQ(s["Count"], 2);
  EXPECT_DOUBLE_EQ(s["Sum"].get<double>(), 4.0);  // milliseconds, as Vault's timers
  EXPECT_DOUBLE_EQ(s["Min"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["Max"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(s["Mean"].get<double>(), 2.0);
  EXPECT_NEAR(s["Stddev"].get<double>(), 1.41421356, 1e-6);
}

TEST(VaultJson, EmptyRegistryStillHasEveryKey) {
  registry r;
  const auto j = render_vault_json(r.collect({}), std::chrono::system_clock::now());
  for (const char* k : {"Timestamp", "Gauges", "Points", "Counters", "Samples"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["Gauges"].is_array());
}

}  // namespace
}  // namespace credbroker::telemetry
