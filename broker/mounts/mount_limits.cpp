#include "broker/mounts/mount_limits.hpp"

#include <algorithm>

namespace credbroker::mounts {

leases::ttl_limits mount_limits::effective() const {
  leases::ttl_limits l = system_;
  const std::int64_t max = max_ttl_.load();
  const std::int64_t def = default_ttl_.load();
  if (max > 0) l.max_ttl = std::min(l.max_ttl, std::chrono::seconds(max));
  if (def > 0) l.default_ttl = std::chrono::seconds(def);
  if (l.default_ttl > l.max_ttl) l.default_ttl = l.max_ttl;
  return l;
}

}  // namespace credbroker::mounts
