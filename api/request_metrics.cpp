#include "api/request_metrics.hpp"

#include <algorithm>
#include <array>

#include "broker/telemetry/registry.hpp"
#include "broker/telemetry/vault_labels.hpp"

namespace credbroker::api {
namespace {

using telemetry::global_registry;

struct instruments {
  telemetry::family<telemetry::counter>& http_requests = global_registry().counters(
      "credbroker.http.requests_total", "HTTP requests answered, by status code.", {"code"});
  telemetry::family<telemetry::histogram>& http_latency = global_registry().histograms(
      "credbroker.http.request_duration_seconds",
      "Time from a request's arrival to its response being written, by status code.", {"code"},
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  telemetry::histogram& handle_request =
      global_registry().summaries("vault.core.handle_request", "Time to handle a request, in milliseconds.").get();
  telemetry::family<telemetry::histogram>& route = global_registry().summaries(
      "vault.route", "Time the route's handler took, in milliseconds, per operation and mount.", {"operation", "mount"},
      1000.0, in_name());
  telemetry::family<telemetry::counter>& token_creation = global_registry().counters(
      "vault.token.creation", "Tokens created (logins and token creates).",
      {"auth_method", "mount_point", "creation_ttl", "token_type", "namespace", "cluster"});
  telemetry::family<telemetry::counter>& lease_creation = global_registry().counters(
      "vault.secret.lease.creation", "Leases created by secrets engines.",
      {"secret_engine", "mount_point", "creation_ttl", "namespace", "cluster"});

  static telemetry::family_options in_name() {
    telemetry::family_options o;
    o.labels_in_name = true;
    return o;
  }
};

instruments& m() {
  static instruments i;
  return i;
}

// Status codes as labels, made once: "100" .. "999", and "other" for anything else.
const std::string& code_label(int status) {
  static const auto* labels = [] {
    auto* a = new std::array<std::string, 1000>();
    (*a)[0] = "other";
    for (int i = 100; i < 1000; ++i) (*a)[static_cast<std::size_t>(i)] = std::to_string(i);
    return a;
  }();
  return (*labels)[status >= 100 && status <= 999 ? static_cast<std::size_t>(status) : 0];
}

bool is_renewal(const request& req) {
  const std::string_view rel = std::string_view(req.path).substr(std::min(req.path.size(), req.mount.size()));
  return rel.starts_with("renew");
}

}  // namespace

void count_http_request(int status, double seconds) noexcept {
  try {
    const std::string& code = code_label(status);
    m().http_requests.with({code}).inc();
    m().http_latency.with({code}).observe(seconds);
  } catch (...) {
    // Allocation failure while creating a series: the request was answered; only its count is lost.
  }
}

handle_timer::~handle_timer() { m().handle_request.observe(sw_.seconds()); }

void record_route(const request& req, const mount_table_entry& mount, const std::string& cluster, const reply& r,
                  double seconds) {
  std::string dashed = mount.path;
  std::replace(dashed.begin(), dashed.end(), '/', '-');
  m().route.with({to_string(req.op), dashed}).observe(seconds);
  if (r.k != reply::kind::envelope) return;
  if (!r.lease_id.empty() && mount.type != "system") {
    m().lease_creation
        .with({mount.type, mount.path, telemetry::ttl_bucket(std::chrono::seconds(r.lease_duration)), "root", cluster})
        .inc();
  }
  if (r.auth.is_object() && !r.auth.value("client_token", std::string()).empty() && !is_renewal(req)) {
    const auto ttl = std::chrono::seconds(r.auth.value("lease_duration", std::int64_t{0}));
    m().token_creation
        .with({mount.type, mount.path, telemetry::ttl_bucket(ttl), r.auth.value("token_type", std::string("service")),
               "root", cluster})
        .inc();
  }
}

}  // namespace credbroker::api
