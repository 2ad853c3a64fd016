#pragma once
// mount_limits: the TTL limits of one secrets engine mount as its engine reads them on every
// issuance, without the mount table's locks. The tune's values (0 = the server's) are two atomics
// the table sets after the tune is stored; effective() combines them with the server's limits:
//   max     = tune max_ttl, capped by the server's max_lease_ttl (0: the server's)
//   default = tune default_ttl (0: the server's default_lease_ttl), capped by max
// e.g. server 768h/768h, tune default 1h, max 0 -> {1h, 768h}; tune default 0, max 30m -> {30m, 30m}.
// Thread: safe from any thread. During a tune that changes both fields a reader may see the new
// default with the old max for an instant; effective() caps the default by the max, so what it gives
// never exceeds the max of either tune or the server's.
#include <atomic>
#include <chrono>
#include <cstdint>

#include "leases/ttl.hpp"

namespace credbroker::mounts {

class mount_limits {
 public:
  mount_limits(leases::ttl_limits system, std::int64_t default_ttl, std::int64_t max_ttl)
      : system_(system), default_ttl_(default_ttl), max_ttl_(max_ttl) {}

  void set(std::int64_t default_ttl, std::int64_t max_ttl) {
    default_ttl_.store(default_ttl);
    max_ttl_.store(max_ttl);
  }
  leases::ttl_limits effective() const;

 private:
  const leases::ttl_limits system_;
  std::atomic<std::int64_t> default_ttl_;
  std::atomic<std::int64_t> max_ttl_;
};

}  // namespace credbroker::mounts
