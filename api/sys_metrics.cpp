// sys/metrics (see sys_metrics.hpp).
#include "api/sys_metrics.hpp"

#include <unistd.h>

#include <memory>
#include <mutex>

#include "broker/telemetry/prometheus_text.hpp"
#include "broker/telemetry/vault_json.hpp"

namespace credbroker::api {
namespace {

constexpr std::chrono::seconds shared_render_for{1};  // unauthenticated: one rendering per second

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// The last rendering of each format, for unauthenticated scrapes.
struct render_cache {
  std::mutex mu;  // guards the rest; held while rendering, so concurrent scrapes wait for one rendering
  std::chrono::steady_clock::time_point at[2]{};
  reply answer[2];
};

class metrics_route {
 public:
  explicit metrics_route(const metrics_services& m)
      : m_(m), hostname_(m.settings.disable_hostname ? "" : local_hostname()) {}

  reply handle(const field_data& fd) {
    const std::string format = fd.get_string("format").value_or("");
    if (format != "" && format != "prometheus") {
      return reply::raw_text(400, "text/plain", "metric response format \"" + format + "\" unknown");
    }
    const bool prometheus = format == "prometheus";
    if (prometheus && m_.settings.prometheus_retention.count() == 0) {
      return reply::raw_text(400, "text/plain", "prometheus is not enabled");
    }
    if (!m_.settings.unauthenticated_access) return render(prometheus);
    const auto now = std::chrono::steady_clock::now();
    const int slot = prometheus ? 1 : 0;
    std::lock_guard lock(cache_.mu);
    if (cache_.at[slot] == std::chrono::steady_clock::time_point{} || now - cache_.at[slot] >= shared_render_for) {
      cache_.answer[slot] = render(prometheus);
      cache_.at[slot] = now;
    }
    return cache_.answer[slot];
  }

 private:
  reply render(bool prometheus) const {
    telemetry::collect_options o;
    o.retention = m_.settings.prometheus_retention;
    o.hostname = hostname_;
    const auto e = m_.registry.collect(o);
    if (prometheus) {
      return reply::raw_text(200, std::string(telemetry::prometheus_content_type), telemetry::render_prometheus(e));
    }
    return reply::raw(200, telemetry::render_vault_json(e, std::chrono::system_clock::now()));
  }

  const metrics_services& m_;
  const std::string hostname_;
  render_cache cache_;
};

}  // namespace

route sys_metrics_route(const metrics_services& m) {
  route r;
  r.pattern = "metrics";
  r.unauthenticated = m.settings.unauthenticated_access;
  r.available_sealed = m.settings.unauthenticated_access;
  r.fields.push_back({"format", field_type::string});
  auto impl = std::make_shared<metrics_route>(m);
  r.operations[operation::read] = [impl](request&, const field_data& fd) { return impl->handle(fd); };
  return r;
}

std::vector<telemetry::registration> watch_node(telemetry::registry& r, const node_status& node,
                                                const leases::lease_manager* leases) {
  using telemetry::metric_kind;
  using telemetry::sample;
  std::vector<telemetry::registration> out;
  out.push_back(r.on_collect({"vault.core.unsealed", "Whether the node is unsealed (1) or sealed or not initialised (0).",
                              metric_kind::gauge, {"cluster"}},
                             [&node](std::vector<sample>& s) {
                               const auto st = node.status();
                               s.push_back({{st.cluster_name}, st.initialized && !st.sealed ? 1.0 : 0.0});
                             }));
  if (leases != nullptr) {
    out.push_back(r.on_collect({"vault.expire.num_leases", "Leases the broker holds, in every state.", metric_kind::gauge},
                               [leases](std::vector<sample>& s) { s.push_back({{}, static_cast<double>(leases->count())}); }));
  }
  out.push_back(r.on_collect({"credbroker.build_info", "Always 1; the version label names the running build.",
                              metric_kind::gauge, {"version"}},
                             [](std::vector<sample>& s) { s.push_back({{CREDBROKER_VERSION}, 1.0}); }));
  return out;
}

}  // namespace credbroker::api
