// sys/metrics through the whole API pipeline (api/sys_metrics.hpp): access with and without a token,
// sealed, the two formats and their content types, Vault's errors; and the node's scrape-time series.
#include "api/sys_metrics.hpp"

#include <gtest/gtest.h>

#include "api/service.hpp"
#include "broker/telemetry/prometheus_text.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

const std::string root = "root-token";

class settable_status final : public node_status {
 public:
  seal_snapshot status() const override { return s; }
  seal_snapshot s = test::unsealed();
};

struct answer {
  int status;
  std::string content_type;
  std::string body;
};

class sys_metrics : public ::testing::Test {
 protected:
  void serve(api::metrics_settings settings) {
    metrics_ = std::make_unique<api::metrics_services>(api::metrics_services{registry_, settings});
    api::services s{node_, authn_};
    s.metrics = metrics_.get();
    svc_ = std::make_unique<api::service>(s);
  }

  answer get(const std::string& target, bool token) {
    api::raw_request r;
    r.method = "GET";
    r.target = "/v1/" + target;
    if (token) r.headers.emplace_back("x-vault-token", root);
    const auto res = svc_->handle(r);
    std::string ct;
    for (const auto& [k, v] : res.headers) {
      if (k == "Content-Type") ct = v;
    }
    return {res.status, ct, res.body};
  }

  telemetry::registry registry_;
  settable_status node_;
  auth::root_token_authenticator authn_{secret(root)};
  std::unique_ptr<api::metrics_services> metrics_;
  std::unique_ptr<api::service> svc_;
};

TEST_F(sys_metrics, access_table) {
  registry_.gauges("vault.test.gauge", "h").get().set(3);
  struct row {
    const char* name;
    bool unauthenticated;
    bool sealed;
    bool token;
    int status;
  };
  const std::vector<row> rows = {
      {"token required: none given", false, false, false, 403},
      {"token given", false, false, true, 200},
      {"sealed, token given: Vault is sealed", false, true, true, 503},
      {"unauthenticated_metrics_access: no token", true, false, false, 200},
      {"unauthenticated_metrics_access: a token is fine too", true, false, true, 200},
      {"unauthenticated_metrics_access: answers while sealed", true, true, false, 200},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    api::metrics_settings s;
    s.unauthenticated_access = r.unauthenticated;
    serve(s);
    node_.s.sealed = r.sealed;
    EXPECT_EQ(get("sys/metrics?format=prometheus", r.token).status, r.status);
  }
}

TEST_F(sys_metrics, prometheus_format) {
  registry_.gauges("vault.core.unsealed", "Unsealed.", {"cluster"}).with({"c"}).set(1);
  serve({});
  const auto a = get("sys/metrics?format=prometheus", true);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(a.body, "# HELP vault_core_unsealed Unsealed.\n# TYPE vault_core_unsealed gauge\nvault_core_unsealed{cluster=\"c\"} 1\n");
}

TEST_F(sys_metrics, json_format_is_vaults_shape_without_envelope) {
  registry_.counters("vault.token.creation", "h").get().add(2);
  serve({});
  const auto a = get("sys/metrics", true);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/json");
  const auto j = json::parse(a.body);
  for (const char* k : {"Timestamp", "Gauges", "Points", "Counters", "Samples"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_FALSE(j.contains("request_id"));
  ASSERT_EQ(j["Counters"].size(), 1u);
  EXPECT_EQ(j["Counters"][0]["Name"], "vault.token.creation");
  EXPECT_EQ(j["Counters"][0]["Count"], 2);
}

TEST_F(sys_metrics, errors_are_vaults) {
  struct row {
    const char* name;
    std::string target;
    std::chrono::seconds retention;
    int status;
    std::string body;
  };
  const std::vector<row> rows = {
      {"unknown format", "sys/metrics?format=xml", std::chrono::hours(24), 400, "metric response format \"xml\" unknown"},
      {"prometheus disabled by retention 0", "sys/metrics?format=prometheus", std::chrono::seconds(0), 400,
       "prometheus is not enabled"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    api::metrics_settings s;
    s.prometheus_retention = r.retention;
    serve(s);
    const auto a = get(r.target, true);
    EXPECT_EQ(a.status, r.status);
    EXPECT_EQ(a.content_type, "text/plain");
    EXPECT_EQ(a.body, r.body);
  }
  api::metrics_settings s;
  s.prometheus_retention = std::chrono::seconds(0);
  serve(s);
  EXPECT_EQ(get("sys/metrics", true).status, 200);  // JSON needs no Prometheus
}

TEST_F(sys_metrics, hostname_goes_into_gauge_names_unless_disabled) {
  registry_.gauges("vault.core.unsealed", "h").get().set(1);
  api::metrics_settings s;
  s.disable_hostname = false;
  serve(s);
  const auto with_host = get("sys/metrics?format=prometheus", true).body;
  EXPECT_EQ(with_host.find("\nvault_core_unsealed "), std::string::npos);
  EXPECT_NE(with_host.find("_core_unsealed 1\n"), std::string::npos);
  serve({});
  EXPECT_NE(get("sys/metrics?format=prometheus", true).body.find("\nvault_core_unsealed 1\n"), std::string::npos);
}

TEST_F(sys_metrics, unauthenticated_answers_are_shared_for_a_second) {
  auto& g = registry_.gauges("vault.test.value", "h").get();
  g.set(1);
  api::metrics_settings s;
  s.unauthenticated_access = true;
  serve(s);
  const auto first = get("sys/metrics?format=prometheus", false).body;
  g.set(2);
  EXPECT_EQ(get("sys/metrics?format=prometheus", false).body, first);  // the rendering of this second
  api::metrics_settings t;  // with tokens every answer is fresh
  serve(t);
  EXPECT_NE(get("sys/metrics?format=prometheus", true).body.find("vault_test_value 2"), std::string::npos);
}

TEST_F(sys_metrics, watch_node_reports_seal_state_and_build) {
  node_.s.cluster_name = "prod";
  {
    const auto regs = api::watch_node(registry_, node_, nullptr);
    serve({});
    auto body = get("sys/metrics?format=prometheus", true).body;
    EXPECT_NE(body.find("vault_core_unsealed{cluster=\"prod\"} 1\n"), std::string::npos) << body;
    EXPECT_NE(body.find("credbroker_build_info{version=\"" CREDBROKER_VERSION "\"} 1\n"), std::string::npos);
    node_.s.sealed = true;
    api::metrics_settings s;
    s.unauthenticated_access = true;
    serve(s);
    body = get("sys/metrics?format=prometheus", false).body;
    EXPECT_NE(body.find("vault_core_unsealed{cluster=\"prod\"} 0\n"), std::string::npos) << body;
  }
  serve({});
  node_.s.sealed = false;
  EXPECT_EQ(get("sys/metrics?format=prometheus", true).body.find("vault_core_unsealed"), std::string::npos);
}

}  // namespace
