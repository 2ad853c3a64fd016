// request_metrics (api/request_metrics.hpp): what a request's reply counts in Vault's metrics, and
// the HTTP counters by status.
#include "api/request_metrics.hpp"

#include <gtest/gtest.h>

#include "broker/telemetry/vault_labels.hpp"
#include "support/metrics.hpp"

using namespace credbroker;
using test::metric_count;
using test::metric_value;

namespace {

api::mount_table_entry mount(std::string path, std::string type) {
  api::mount_table_entry m;
  m.path = std::move(path);
  m.type = std::move(type);
  return m;
}

api::request req(api::operation op, std::string path, std::string mount_path) {
  api::request r;
  r.op = op;
  r.path = std::move(path);
  r.mount = std::move(mount_path);
  return r;
}

TEST(request_metrics, route_time_in_vaults_per_mount_names) {
  const auto m = mount("team/db/", "database");
  const auto before = metric_count("vault.route.read.team-db-");
  api::measured_route(req(api::operation::read, "team/db/roles/x", m.path), m, "c", [] { return api::reply::not_found(); });
  EXPECT_EQ(metric_count("vault.route.read.team-db-"), before + 1);
}

TEST(request_metrics, a_lease_from_a_secrets_engine_counts_once) {
  const auto db = mount("database/", "database");
  const test::metric_labels labels = {{"secret_engine", "database"}, {"mount_point", "database/"},
                                      {"creation_ttl", "1h"}, {"namespace", "root"}, {"cluster", "prod"}};
  const double before = metric_value("vault.secret.lease.creation", labels);
  api::reply creds = api::reply::with_data({{"username", "u"}});
  creds.lease_id = "database/creds/app/X";
  creds.lease_duration = 3600;
  api::record_route(req(api::operation::read, "database/creds/app", db.path), db, "prod", creds, 0.01);
  // A renewal answers with the lease too, through sys/: no creation.
  api::record_route(req(api::operation::update, "sys/leases/renew", "sys/"), mount("sys/", "system"), "prod", creds, 0.01);
  // An error reply creates nothing.
  api::record_route(req(api::operation::read, "database/creds/app", db.path), db, "prod", api::reply::fail(500, "x"), 0.01);
  EXPECT_EQ(metric_value("vault.secret.lease.creation", labels), before + 1);
}

TEST(request_metrics, a_new_token_counts_a_renewal_does_not) {
  const auto token = mount("auth/token/", "token");
  const test::metric_labels labels = {{"auth_method", "token"}, {"mount_point", "auth/token/"}, {"creation_ttl", "1d"},
                                      {"token_type", "service"}, {"namespace", "root"}, {"cluster", "prod"}};
  const double before = metric_value("vault.token.creation", labels);
  api::reply created = api::reply::with_data(nullptr);
  created.auth = {{"client_token", "hvs.x"}, {"lease_duration", 86400}, {"token_type", "service"}};
  api::record_route(req(api::operation::update, "auth/token/create", token.path), token, "prod", created, 0.01);
  api::record_route(req(api::operation::update, "auth/token/renew-self", token.path), token, "prod", created, 0.01);
  api::reply lookup = api::reply::with_data({{"id", "x"}});  // no auth block
  api::record_route(req(api::operation::read, "auth/token/lookup-self", token.path), token, "prod", lookup, 0.01);
  EXPECT_EQ(metric_value("vault.token.creation", labels), before + 1);

  const auto approle = mount("auth/approle/", "approle");
  const test::metric_labels login = {{"auth_method", "approle"}, {"mount_point", "auth/approle/"}, {"creation_ttl", "1m"}};
  const double logins = metric_value("vault.token.creation", login);
  created.auth["lease_duration"] = 0;  // Vault's bucket for a token that does not expire
  api::record_route(req(api::operation::update, "auth/approle/login", approle.path), approle, "prod", created, 0.01);
  EXPECT_EQ(metric_value("vault.token.creation", login), logins + 1);
}

TEST(request_metrics, http_requests_by_status) {
  const double ok = metric_value("credbroker.http.requests_total", {{"code", "200"}});
  const auto ok_timed = metric_count("credbroker.http.request_duration_seconds", {{"code", "200"}});
  const double odd = metric_value("credbroker.http.requests_total", {{"code", "other"}});
  api::count_http_request(200, 0.002);
  api::count_http_request(200, 0.004);
  api::count_http_request(42, 0.001);
  EXPECT_EQ(metric_value("credbroker.http.requests_total", {{"code", "200"}}), ok + 2);
  EXPECT_EQ(metric_count("credbroker.http.request_duration_seconds", {{"code", "200"}}), ok_timed + 2);
  EXPECT_EQ(metric_value("credbroker.http.requests_total", {{"code", "other"}}), odd + 1);
}

TEST(request_metrics, ttl_buckets_are_vaults) {
  const std::vector<std::pair<long, std::string>> rows = {
      {0, "1m"}, {45, "1m"}, {60, "1m"}, {61, "10m"}, {3600, "1h"}, {5400, "2h"}, {86400, "1d"},
      {2 * 86400, "2d"}, {3 * 86400, "7d"}, {30 * 86400, "30d"}, {31 * 86400, "+Inf"},
  };
  for (const auto& [s, label] : rows) {
    SCOPED_TRACE(s);
    EXPECT_EQ(telemetry::ttl_bucket(std::chrono::seconds(s)), label);
  }
}

}  // namespace
