// sys/seal-status, GET sys/init and GET sys/leader — unauthenticated, not enveloped (vault-api.md §4.2).
#include "api/sys_routes.hpp"

namespace credbroker::api {

nlohmann::json seal_status_body(const seal_snapshot& s) {
  nlohmann::json body = {
      {"type", "shamir"},
      {"initialized", s.initialized},
      {"sealed", s.sealed},
      {"t", s.threshold},
      {"n", s.shares},
      {"progress", s.progress},
      {"nonce", s.nonce},
      {"version", CREDBROKER_VERSION},
      {"build_date", ""},
      {"migration", false},
      {"recovery_seal", false},
      {"storage_type", s.storage_type},
      {"removed_from_cluster", false},
  };
  if (s.initialized && !s.sealed) {
    body["cluster_name"] = s.cluster_name;
    body["cluster_id"] = s.cluster_id;
  }
  return body;
}

route sys_seal_status_route(const node_status& node) {
  route r;
  r.pattern = "seal-status";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.operations[operation::read] = [&node](request&, const field_data&) {
    return reply::raw(200, seal_status_body(node.status()));
  };
  return r;
}

route sys_init_route(const node_status& node) {
  route r;
  r.pattern = "init";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.operations[operation::read] = [&node](request&, const field_data&) {
    return reply::raw(200, nlohmann::json{{"initialized", node.status().initialized}});
  };
  return r;
}

// Vault's answer (http/sys_leader.go): without HA ha_enabled false and the addresses empty (the vault
// CLI's status and unseal call it, and fail on an error); with HA whether this node is the active
// one, the active's api_addr, and active_time on the active only.
route sys_leader_route(const node_status& node) {
  route r;
  r.pattern = "leader";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.operations[operation::read] = [&node](request&, const field_data&) {
    const ha_snapshot ha = node.ha();
    return reply::raw(200, nlohmann::json{{"ha_enabled", ha.enabled},
                                          {"is_self", ha.enabled && ha.active},
                                          {"active_time", ha.active_time.empty() ? "0001-01-01T00:00:00Z" : ha.active_time},
                                          {"leader_address", ha.leader_address},
                                          {"leader_cluster_address", ha.leader_cluster_address},
                                          {"performance_standby", false},
                                          {"performance_standby_last_remote_wal", 0}});
  };
  return r;
}

}  // namespace credbroker::api
