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
// Thread: refresh() from one thread at a time (the periodic job); collection reads what it published.
#include "broker/core/clock.hpp"
#include "broker/engine/database_engine.hpp"
#include "broker/storage/physical.hpp"
#include "broker/telemetry/gauge_set.hpp"

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
};

}  // namespace credbroker::engine
