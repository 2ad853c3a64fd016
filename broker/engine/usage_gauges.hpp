#pragma once
// usage_gauges: the server's periodic census (Vault's usage gauges, every
// telemetry.usage_gauge_period), published into telemetry::global_registry() for the scrapes in
// between:
//   credbroker_leases{mount, role, state}          leases per mount, role and state (lease_census.hpp)
//   vault_expire_num_irrevocable_leases            leases marked irrevocable
//   credbroker_lease_revocation_backlog            leases whose revocation is due and not done yet
//   credbroker_rotation_next_due_timestamp_seconds{mount, kind, name}   when the next scheduled
//                                                  rotation of a root credential (kind "root", name:
//                                                  the connection) or static role ("static") is due
//   credbroker_rotation_last_success_timestamp_seconds{mount, kind, name}
//   credbroker_rotation_failed_attempts{mount, kind, name}   failed attempts since the last success
//   credbroker_usage_gauges_duration_seconds       how long the last census took
// Until the first refresh() these series are absent (never a made-up 0).
// Beside the census, read at every scrape (database_engine::pools(), no database call), for each
// connection whose plugin instance exists (made at its first use):
//   credbroker_database_pool_open_connections{mount, connection}      sessions open, idle or lent
//   credbroker_database_pool_in_use_connections{mount, connection}    lent to a call now
//   credbroker_database_pool_waiters{mount, connection}               calls waiting for a session
//   credbroker_database_pool_max_open_connections{mount, connection}  max_open_connections
// (Redis: summed over the primary and its replicas.)
// Thread: refresh() from one thread at a time (the periodic job); collection reads what it published.
#include "broker/core/clock.hpp"
#include "broker/engine/database_engine.hpp"
#include "broker/storage/physical.hpp"
#include "broker/telemetry/gauge_set.hpp"
#include "broker/telemetry/registry.hpp"

namespace credbroker::engine {

class usage_gauges {
 public:
  // `leases_store`: where the lease manager keeps its records (the barrier); both must outlive this.
  usage_gauges(storage::physical& leases_store, const engine_router& engines, const clock& c);

  // One census. Errors (storage unreadable, sealed) are logged; the last published values stay.
  void refresh();

 private:
  void count_leases();
  void count_rotations();

  storage::physical& store_;
  const engine_router& engines_;
  const clock& clock_;
  telemetry::gauge_set leases_;
  telemetry::gauge_set irrevocable_;
  telemetry::gauge_set backlog_;
  telemetry::gauge_set next_due_;
  telemetry::gauge_set last_success_;
  telemetry::gauge_set failed_attempts_;
  telemetry::gauge_set duration_;
  std::vector<telemetry::registration> pools_;
};

}  // namespace credbroker::engine
