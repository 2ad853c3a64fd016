// The Prometheus text format 0.0.4 (broker/telemetry/prometheus_text.hpp): names, escaping, numbers,
// HELP/TYPE, histogram buckets and summaries, as table tests. (promtool checks the server's real
// output in tests/integration/telemetry.)
#include "broker/telemetry/prometheus_text.hpp"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "broker/telemetry/registry.hpp"

namespace credbroker::telemetry {
namespace {

TEST(PrometheusText, Names) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"vault.core.unsealed", "vault_core_unsealed"},
      {"vault.expire.num_irrevocable_leases", "vault_expire_num_irrevocable_leases"},
      {"vault.route.read.database-", "vault_route_read_database_"},
      {"vault.route.update.team-db-", "vault_route_update_team_db_"},
      {"vault.database.NewUser", "vault_database_new_user"},
      {"vault.database.postgres.DeleteUser.error", "vault_database_postgres_delete_user_error"},
      {"vault.database.Initialize", "vault_database_initialize"},
      {"credbroker.http.requests_total", "credbroker_http_requests_total"},
      {"vault.node-1.example.core.unsealed", "vault_node_1_example_core_unsealed"},
      {"x.ABCDef", "x_abcdef"},  // no '_' inside a run of capitals
      {"9lives", "_9lives"},
      {"", "_"},
  };
  for (const auto& [key, name] : rows) {
    SCOPED_TRACE(key);
    EXPECT_EQ(prometheus_name(key), name);
  }
}

TEST(PrometheusText, Escaping) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain/mount-1"), "plain/mount-1");
  EXPECT_EQ(escape_help("line1\nline2 \\ \"quoted\""), R"(line1\nline2 \\ "quoted")");
}

TEST(PrometheusText, Numbers) {
  const std::vector<std::pair<double, std::string>> rows = {
      {0, "0"}, {1, "1"}, {12, "12"}, {0.005, "0.005"}, {0.0005, "0.0005"}, {2.5, "2.5"}, {-3, "-3"},
      {0.000025, "2.5e-05"}, {123456, "123456"}, {1000000, "1e+06"}, {1500000, "1.5e+06"}, {1e21, "1e+21"},
      {1234567890123.0, "1.234567890123e+12"}, {0.1 + 0.2, "0.30000000000000004"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const auto& [v, text] : rows) {
    SCOPED_TRACE(text);
    EXPECT_EQ(format_value(v), text);
  }
  // A histogram's bounds in a row, each call after a longer one: the exponent is read from the
  // digits just written, never from what an earlier call left in the buffer (1e-03 once became 1e-035).
  const std::vector<std::pair<double, std::string>> bounds = {
      {0.0005, "0.0005"}, {0.001, "0.001"}, {0.0025, "0.0025"}, {0.005, "0.005"}, {0.01, "0.01"},
      {0.025, "0.025"}, {0.05, "0.05"}, {0.1, "0.1"}, {0.25, "0.25"}, {0.5, "0.5"}, {1, "1"}, {2.5, "2.5"},
      {10, "10"}, {3, "3"}, {0, "0"}, {0.99, "0.99"}, {0.9, "0.9"}, {0.123456789, "0.123456789"}, {0.9, "0.9"}};
  for (const auto& [v, text] : bounds) {
    SCOPED_TRACE(text);
    EXPECT_EQ(format_value(v), text);
  }
}

TEST(PrometheusText, CountersGaugesAndLabels) {
  registry r;
  r.gauges("vault.core.unsealed", "Whether the node is unsealed (1) or sealed (0).", {"cluster"})
      .with({"credbroker-cluster"})
      .set(1);
  auto& codes = r.counters("credbroker.http.requests_total", "HTTP requests\nby status", {"code"});
  codes.with({"200"}).add(3);
  codes.with({"403"}).inc();
  r.counters("vault.audit.log_request_failure", "Vault's name, no _total").get();
  r.gauges("t.escaped", "h", {"path"}).with({"a\"b\\c\nd"}).set(2);
  const std::string text = render_prometheus(r.collect({}));
  EXPECT_EQ(text,
            "# HELP credbroker_http_requests_total HTTP requests\\nby status\n"
            "# TYPE credbroker_http_requests_total counter\n"
            "credbroker_http_requests_total{code=\"200\"} 3\n"
            "credbroker_http_requests_total{code=\"403\"} 1\n"
            "# HELP t_escaped h\n"
            "# TYPE t_escaped gauge\n"
            "t_escaped{path=\"a\\\"b\\\\c\\nd\"} 2\n"
            "# HELP vault_audit_log_request_failure Vault's name, no _total\n"
            "# TYPE vault_audit_log_request_failure untyped\n"
            "vault_audit_log_request_failure 0\n"
            "# HELP vault_core_unsealed Whether the node is unsealed (1) or sealed (0).\n"
            "# TYPE vault_core_unsealed gauge\n"
            "vault_core_unsealed{cluster=\"credbroker-cluster\"} 1\n");
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInf) {
  registry r;
  auto& h = r.histograms("credbroker.http.request_duration_seconds", "Latency", {"code"}, {0.005, 0.01, 0.1});
  h.with({"200"}).observe(0.001);
  h.with({"200"}).observe(0.005);
  h.with({"200"}).observe(0.05);
  h.with({"200"}).observe(3);
  r.histograms("t.unlabelled", "h", {}, {1}).get().observe(0.5);
  const std::string text = render_prometheus(r.collect({}));
  EXPECT_EQ(text,
            "# HELP credbroker_http_request_duration_seconds Latency\n"
            "# TYPE credbroker_http_request_duration_seconds histogram\n"
            "credbroker_http_request_duration_seconds_bucket{code=\"200\",le=\"0.005\"} 2\n"
            "credbroker_http_request_duration_seconds_bucket{code=\"200\",le=\"0.01\"} 2\n"
            "credbroker_http_request_duration_seconds_bucket{code=\"200\",le=\"0.1\"} 3\n"
            "credbroker_http_request_duration_seconds_bucket{code=\"200\",le=\"+Inf\"} 4\n"
            "credbroker_http_request_duration_seconds_sum{code=\"200\"} 3.056\n"
            "credbroker_http_request_duration_seconds_count{code=\"200\"} 4\n"
            "# HELP t_unlabelled h\n"
            "# TYPE t_unlabelled histogram\n"
            "t_unlabelled_bucket{le=\"1\"} 1\n"
            "t_unlabelled_bucket{le=\"+Inf\"} 1\n"
            "t_unlabelled_sum 0.5\n"
            "t_unlabelled_count 1\n");
}

TEST(PrometheusText, SummariesCarryQuantilesSumAndCount) {
  registry r;
  r.summaries("vault.core.handle_request", "Time to handle a request (ms)").get().observe(0.002);
  const std::string text = render_prometheus(r.collect({}));
  EXPECT_EQ(text,
            "# HELP vault_core_handle_request Time to handle a request (ms)\n"
            "# TYPE vault_core_handle_request summary\n"
            "vault_core_handle_request{quantile=\"0.5\"} 2\n"
            "vault_core_handle_request{quantile=\"0.9\"} 2\n"
            "vault_core_handle_request{quantile=\"0.99\"} 2\n"
            "vault_core_handle_request_sum 2\n"
            "vault_core_handle_request_count 1\n");
}

TEST(PrometheusText, KeysThatFlattenToOneNameAreRenderedOnce) {
  registry r;
  r.gauges("t.a-b", "first").get().set(1);
  r.gauges("t.a/b", "second").get().set(2);
  const std::string text = render_prometheus(r.collect({}));
  EXPECT_EQ(text, "# HELP t_a_b first\n# TYPE t_a_b gauge\nt_a_b 1\n");
}

}  // namespace
}  // namespace credbroker::telemetry
