#pragma once
// sys/metrics (Vault's): the process's telemetry (telemetry::global_registry()).
//
//   GET sys/metrics                     Vault's JSON shape (telemetry/vault_json.hpp), raw, no envelope
//   GET sys/metrics?format=prometheus   Prometheus text 0.0.4 (telemetry/prometheus_text.hpp),
//                                       Content-Type "text/plain; version=0.0.4; charset=utf-8"
//   any other format                    400, text/plain: metric response format "x" unknown
//   prometheus_retention_time = 0       ?format=prometheus answers 400 "prometheus is not enabled"
//
// Access: a token whose policies grant read on sys/metrics, as in Vault; with
// unauthenticated_metrics_access no token is needed and the route answers while sealed too (so a
// sealed node still reports vault_core_unsealed 0). Unauthenticated answers are rendered at most once
// a second and shared, so a flood of scrapes costs one rendering per second.
//
// watch_node(): the scrape-time series of the node itself, read when someone scrapes:
//   vault_core_unsealed{cluster}   1 unsealed, 0 sealed or not initialised
//   vault_expire_num_leases        leases the lease manager holds (its index: lease_manager::count())
//   credbroker_build_info{version} 1
// Thread: the route and the watched series are safe concurrently.
#include <chrono>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "broker/core/node_status.hpp"
#include "broker/telemetry/registry.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::api {

struct metrics_settings {
  bool unauthenticated_access = false;  // listener.tcp.telemetry.unauthenticated_metrics_access
  std::chrono::seconds prometheus_retention{std::chrono::hours(24)};  // telemetry.prometheus_retention_time
  bool disable_hostname = true;         // telemetry.disable_hostname (false: the hostname in gauge names)
  std::string cluster_name;             // the cluster label of Vault's metrics that carry one
};

struct metrics_services {
  const telemetry::registry& registry;
  metrics_settings settings;
};

route sys_metrics_route(const metrics_services& m);

// `leases` may be null (no lease manager: no vault_expire_num_leases). Both must outlive the result.
[[nodiscard]] std::vector<telemetry::registration> watch_node(telemetry::registry& r, const node_status& node,
                                                              const leases::lease_manager* leases);

}  // namespace credbroker::api
