#pragma once
// metered_revoker: a revoker (lease_manager.hpp) that measures the one it wraps — the engine's —
// into telemetry::global_registry(), so the lease manager itself carries no metrics code:
//   vault_expire_revoke                       summary (ms): one revocation attempt's database part
//   vault_expire_renew                        summary (ms): one renewal's database part
//   credbroker_lease_revocations_total{outcome}   attempts, success or failure
//   credbroker_lease_revocation_retries_total     attempts of leases that failed before
//   credbroker_leases_marked_irrevocable_total    failures that exhausted max_attempts (the lease
//                                                 manager marks the lease irrevocable)
//   credbroker_lease_expiry_lag_seconds           for a lease revoked because it expired, how late
//                                                 its first attempt started: now - expire_time
//   credbroker_lease_revocations_in_flight        attempts running now
// A first attempt (attempts == 0) of a lease whose expire_time has passed is an expiry; a revoke
// before expire_time (revoke, revoke-prefix) has no lag. expire_now() moves expire_time to now, so
// its lag is the queueing of the revocation.
// Thread: as the wrapped revoker; the measuring is lock-free.
#include "broker/core/clock.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::leases {

class metered_revoker final : public revoker {
 public:
  // max_attempts: the lease manager's (manager_options::max_attempts).
  metered_revoker(revoker& inner, const clock& c, int max_attempts)
      : inner_(inner), clock_(c), max_attempts_(max_attempts) {}

  status revoke(const lease& l) override;
  status renew(const lease& l, time_point new_expire) override;

 private:
  revoker& inner_;
  const clock& clock_;
  const int max_attempts_;
};

}  // namespace credbroker::leases
