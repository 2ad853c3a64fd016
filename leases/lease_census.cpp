#include "leases/lease_census.hpp"

namespace credbroker::leases {

std::pair<std::string, std::string> mount_and_role(std::string_view id) {
  const auto last = id.rfind('/');
  if (last == std::string_view::npos || last == 0) return {};
  const auto role_start = id.rfind('/', last - 1);
  if (role_start == std::string_view::npos) return {};
  const std::string_view before = id.substr(0, role_start + 1);  // "<mount>creds/"
  constexpr std::string_view creds = "creds/";
  if (!before.ends_with(creds) || before.size() == creds.size() || before[before.size() - creds.size() - 1] != '/') {
    return {};
  }
  return {std::string(before.substr(0, before.size() - creds.size())),
          std::string(id.substr(role_start + 1, last - role_start - 1))};
}

result<lease_census> count_leases(storage::physical& store, time_point now) {
  lease_census c;
  auto s = store.scan(lease_storage_prefix, [&](const std::string& key, std::string_view value) {
    auto h = peek_schedule(value);
    if (!h) {
      auto l = decode(value);  // a record of a version before the header
      if (!l) {
        ++c.unreadable;
        return true;
      }
      const bool retrying = l->state == lease_state::revoking || l->state == lease_state::irrevocable;
      h = schedule_header{l->state, retrying ? l->next_attempt : l->expire_time};
    }
    auto [mount, role] = mount_and_role(std::string_view(key).substr(lease_storage_prefix.size()));
    ++c.by_role[{std::move(mount), std::move(role), h->state}];
    ++c.total;
    if (h->state == lease_state::irrevocable) ++c.irrevocable;
    if (h->due <= now) ++c.backlog;
    return true;
  });
  // Damaged records were skipped by the barrier; the readable ones still count.
  if (!s && s.err().code != make_error_code(errc::integrity_failure)) return std::move(s).err();
  return c;
}

}  // namespace credbroker::leases
