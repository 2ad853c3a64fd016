#pragma once
// Lease TTL maths exactly as Vault's framework.CalculateTTL (vault-api.md §3.2), for issue and renew.
//
//   max  = mount/system max_ttl, lowered by the role's max_ttl when that is set and smaller
//   ttl  = increment if > 0, else the role's default_ttl if > 0, else the mount/system default
//   left = issue_time + max - now          (all times truncated to whole seconds)
//   left <= 0        -> error "past the max TTL, cannot renew"
//   ttl  >  left     -> ttl = left, warning
//        TTL of "<ttl>" exceeded the effective max_ttl of "<left>"; TTL value is capped accordingly
// `increment` is the new TTL counted from now, not an addition to what remains.
//
// Example: system max 768h, role max_ttl 1h, issued at T, renew at T+50m with increment 30m:
//   max = 1h, ttl = 30m, left = 10m -> ttl 10m, warning
//   TTL of "30m" exceeded the effective max_ttl of "10m"; TTL value is capped accordingly
#include <chrono>
#include <string>
#include <vector>

#include "broker/core/clock.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/result.hpp"

namespace credbroker::leases {

struct ttl_limits {
  std::chrono::seconds default_ttl{768 * 3600};  // mount (or system) default lease TTL
  std::chrono::seconds max_ttl{768 * 3600};      // mount (or system) max lease TTL
};

struct ttl_result {
  std::chrono::seconds ttl{0};
  std::vector<std::string> warnings;
};

result<ttl_result> calculate_ttl(const ttl_limits& limits, std::chrono::seconds increment,
                                 std::chrono::seconds role_ttl, std::chrono::seconds role_max_ttl,
                                 time_point issue_time, time_point now);

// Vault's humanDuration (broker/core/duration.hpp): 3600 -> "1h", 5400 -> "1h30m", 0 -> "0s".
using credbroker::human_duration;

}  // namespace credbroker::leases
