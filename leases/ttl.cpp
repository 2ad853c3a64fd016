#include "leases/ttl.hpp"

#include "broker/core/duration.hpp"

namespace credbroker::leases {

result<ttl_result> calculate_ttl(const ttl_limits& limits, std::chrono::seconds increment,
                                 std::chrono::seconds role_ttl, std::chrono::seconds role_max_ttl,
                                 time_point issue_time, time_point now) {
  using std::chrono::seconds;
  const auto now_s = std::chrono::floor<seconds>(now);
  const auto start_s = std::chrono::floor<seconds>(issue_time);
  seconds max = limits.max_ttl;
  if (role_max_ttl.count() > 0 && role_max_ttl < max) max = role_max_ttl;
  if (max.count() <= 0) return make_error(errc::invalid_request, "max TTL must be greater than zero");
  ttl_result out;
  out.ttl = increment.count() > 0 ? increment : role_ttl.count() > 0 ? role_ttl : limits.default_ttl;
  const seconds left = std::chrono::duration_cast<seconds>(start_s + max - now_s);
  if (left.count() <= 0) return make_error(errc::invalid_request, "past the max TTL, cannot renew");
  if (out.ttl > left) {
    out.warnings.push_back("TTL of \"" + human_duration(out.ttl) + "\" exceeded the effective max_ttl of \"" +
                           human_duration(left) + "\"; TTL value is capped accordingly");
    out.ttl = left;
  }
  return out;
}

}  // namespace credbroker::leases
