#pragma once
// pending_settler: settles the leases a broker run left pending (a crash, or a former active node,
// between "lease written pending" and "lease active"; engine/database_engine.hpp "Issuance").
// resolve() takes every pending lease from the lease manager after its restore and asks its mount's
// engine (database_engine::resolve_pending: the dead run's sessions ended, then user_exists) to
// keep or forget it. Those that cannot be settled now (database unreachable, the dead run's
// sessions not ended, the mount not loaded) are kept and retried by retry_due(): after 5 s, then
// doubling up to 5 min, until each is settled or gone (revoked at its expiry, which ends the dead
// run's sessions first too). clear() forgets the list on seal: the leases are still pending in
// storage, and the next unseal's restore finds them again.
// Thread: safe from any thread; list_mu_ guards the list and its schedule and is never held across
// an engine call (a pass takes the list out and puts back what is left). Lock order: none is taken
// inside it.
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/clock.hpp"
#include "broker/engine/database_engine.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::mounts {

class pending_settler {
 public:
  pending_settler(leases::lease_manager& leases, engine::engine_router& engines, const clock& clk)
      : leases_(leases), engines_(engines), clock_(clk) {}

  void resolve();
  void retry_due();
  void clear();

 private:
  struct counts {
    std::size_t kept = 0, forgotten = 0;
    std::vector<std::string> left;  // not settled: tried again later
  };
  counts settle(const std::vector<std::string>& ids);
  void keep_for_later(const std::vector<std::string>& left, bool first);

  leases::lease_manager& leases_;
  engine::engine_router& engines_;
  const clock& clock_;
  std::mutex list_mu_;
  std::vector<std::string> unsettled_;
  int attempts_ = 0;
  time_point next_{};
};

}  // namespace credbroker::mounts
