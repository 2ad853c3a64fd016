#pragma once
// count_leases: one pass over the stored lease records (sys/expire/id/), reading only each record's
// header (lease.hpp: state and due time) and its key, not the JSON (but for records older than the
// header): how many leases each mount
// and role holds in each state, how many are irrevocable, and the revocation backlog — leases whose
// revocation is due (their due time passed: expire_time, or next_attempt after a failure) and not
// done yet. A healthy broker's backlog is close to 0 at any instant.
// Cost: the scan restore() makes (about 1.7 s per million leases on SQLite, mostly decryption), so
// the server runs it every telemetry.usage_gauge_period, never per scrape.
//
// Lease ids are "<mount>/creds/<role>/<suffix>": "team/db/creds/app/X" -> mount "team/db/", role
// "app". An id of another shape is counted under mount and role "".
// Thread: reads storage only; safe beside every lease manager call.
#include <cstddef>
#include <map>
#include <string>
#include <tuple>

#include "broker/core/clock.hpp"
#include "broker/storage/physical.hpp"
#include "leases/lease.hpp"

namespace credbroker::leases {

struct lease_census {
  std::map<std::tuple<std::string, std::string, lease_state>, std::size_t> by_role;  // (mount, role, state)
  std::size_t total = 0;
  std::size_t irrevocable = 0;
  std::size_t backlog = 0;
  std::size_t unreadable = 0;  // records without a readable header (restore reports them)
};

result<lease_census> count_leases(storage::physical& store, time_point now);

// "team/db/creds/app/X" -> {"team/db/", "app"}; {"", ""} for another shape.
std::pair<std::string, std::string> mount_and_role(std::string_view lease_id);

}  // namespace credbroker::leases
