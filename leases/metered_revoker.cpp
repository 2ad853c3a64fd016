#include "leases/metered_revoker.hpp"

#include "broker/telemetry/registry.hpp"

namespace credbroker::leases {
namespace {

using telemetry::global_registry;

struct instruments {
  telemetry::histogram& revoke =
      global_registry()
          .summaries("vault.expire.revoke", "Time of one lease revocation attempt (the database part), in milliseconds.")
          .get();
  telemetry::histogram& renew =
      global_registry()
          .summaries("vault.expire.renew", "Time of one lease renewal (the database part), in milliseconds.")
          .get();
  telemetry::family<telemetry::counter>& revocations = global_registry().counters(
      "credbroker.lease.revocations_total", "Lease revocation attempts, by outcome.", {"outcome"});
  telemetry::counter& success = revocations.with({"success"});
  telemetry::counter& failure = revocations.with({"failure"});
  telemetry::counter& retries =
      global_registry()
          .counters("credbroker.lease.revocation_retries_total", "Revocation attempts of leases that failed before.")
          .get();
  telemetry::counter& irrevocable =
      global_registry()
          .counters("credbroker.leases.marked_irrevocable_total",
                    "Leases marked irrevocable: their revocation failed max_attempts times (they stay listed and "
                    "are retried).")
          .get();
  telemetry::histogram& lag =
      global_registry()
          .histograms("credbroker.lease.expiry_lag_seconds",
                      "How late the first revocation attempt of an expired lease started, after its expire time.", {},
                      {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600})
          .get();
  telemetry::gauge& in_flight =
      global_registry().gauges("credbroker.lease.revocations_in_flight", "Lease revocation attempts running now.").get();
};

instruments& m() {
  static instruments i;
  return i;
}

}  // namespace

status metered_revoker::revoke(const lease& l) {
  const time_point started = clock_.now();
  if (l.attempts == 0 && l.expire_time <= started) {
    m().lag.observe(std::chrono::duration<double>(started - l.expire_time).count());
  }
  if (l.attempts > 0) m().retries.inc();
  m().in_flight.add(1);
  const telemetry::stopwatch sw;
  auto s = inner_.revoke(l);
  m().revoke.observe(sw.seconds());
  m().in_flight.add(-1);
  if (s) {
    m().success.inc();
  } else {
    m().failure.inc();
    if (l.state != lease_state::irrevocable && l.attempts + 1 >= max_attempts_) m().irrevocable.inc();
  }
  return s;
}

status metered_revoker::renew(const lease& l, time_point new_expire) {
  const telemetry::stopwatch sw;
  auto s = inner_.renew(l, new_expire);
  m().renew.observe(sw.seconds());
  return s;
}

}  // namespace credbroker::leases
