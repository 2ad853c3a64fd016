#pragma once
// api_layer: the API above the node: the mount tables (stepped up and down by the node through
// node::mount_tables), response wrapping, the metrics, the service, and the standby forwarding
// in front of it all. Built after the node, destroyed before it.
// Thread: built and attached on the main thread; load/unload come from the node's step-up and
// step-down, the others from executor threads (node::mount_tables); handler() from the workers.
#include <vector>

#include <spdlog/spdlog.h>

#include "api/response_wrapping.hpp"
#include "api/service.hpp"
#include "api/standby_forwarding.hpp"
#include "api/sys_metrics.hpp"
#include "broker/mounts/auth_mounts.hpp"
#include "broker/mounts/secret_mounts.hpp"
#include "broker/node/node.hpp"
#include "broker/telemetry/audit_source.hpp"

namespace credbroker::server {

class api_layer final : public node::mount_tables {
 public:
  explicit api_layer(node::node& n)
      : seal_routes_{n.seal(), n.encrypted(), n.tokens()},
        auth_methods_(n.encrypted(), n.tokens(), n.wall()),
        secret_engines_(mounts::engine_services{n.encrypted(), n.plugins(), n.leases(), n.passwords(), n.engines(), n.wall(),
                                             n.limits(), &n.rotations()}),
        wrapping_(n.encrypted(), n.tokens()),  // wrapped responses through the barrier
        metrics_{telemetry::global_registry(),
                 {n.config().telemetry.unauthenticated_metrics_access, n.config().telemetry.prometheus_retention_time,
                  n.config().telemetry.disable_hostname,
                  n.config().cluster_name.empty() ? "credbroker-cluster" : n.config().cluster_name}},
        node_metrics_(api::watch_node(telemetry::global_registry(), n, &n.leases())),
        service_(api::services{n, n.tokens(), &seal_routes_, &n.leases(), &n.wall(), &n.policies(), &n.tokens(),
                               &auth_methods_, &secret_engines_, &n.passwords(), &n.audit_devices(), &n.audit(),
                               &metrics_, &wrapping_}),
        gate_(n, service_, {n.config().disable_clustering}) {
    telemetry::register_audit_failures();  // the audit broker counts into them (docs/telemetry.md)
  }

  const api::request_handler& handler() const { return gate_; }

  void load() override {
    if (auto s = auth_methods_.load(); !s) spdlog::error("auth methods: {}", s.err().message);
    if (auto s = secret_engines_.load(); !s) spdlog::error("secrets engines: {}", s.err().message);
  }
  void unload() override {
    auth_methods_.unload();
    secret_engines_.unload();
  }
  void recover_rotations() override { secret_engines_.recover_rotations(); }
  void resolve_pending() override { secret_engines_.resolve_pending(); }
  void reconcile_due() override { secret_engines_.reconcile_due(); }

 private:
  api::seal_services seal_routes_;
  mounts::auth_mounts auth_methods_;
  mounts::secret_mounts secret_engines_;
  api::response_wrapping wrapping_;
  const api::metrics_services metrics_;
  const std::vector<telemetry::registration> node_metrics_;
  api::service service_;
  api::standby_forwarding gate_;
};


}  // namespace credbroker::server
