#pragma once
// gauge_set: a family of scrape-time series whose whole set is replaced at once by a periodic job (a
// census of leases or rotations): a series the last census did not find (a deleted role) is gone
// from the next scrape. Until the first replace() the family renders nothing.
//
//   gauge_set leases(global_registry(), {"credbroker.leases", "...", metric_kind::gauge, {"mount", "role", "state"}});
//   leases.replace({{{"database/", "app", "active"}, 12}});
//
// Thread: replace() and collection may run concurrently (mu_ guards the set; it is a leaf lock).
#include <mutex>
#include <vector>

#include "broker/telemetry/registry.hpp"

namespace credbroker::telemetry {

class gauge_set {
 public:
  gauge_set(registry& r, family_def def);
  gauge_set(const gauge_set&) = delete;
  gauge_set& operator=(const gauge_set&) = delete;

  void replace(std::vector<sample> series);

 private:
  std::mutex mu_;
  std::vector<sample> current_;  // guarded by mu_
  registration reg_;             // last: removed (waiting for a running collection) before current_ goes
};

}  // namespace credbroker::telemetry
