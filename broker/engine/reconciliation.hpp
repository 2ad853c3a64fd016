#pragma once
// reconciler: compares the users a connection's database holds (plugin list_users: e.g. Redis ACL
// USERS on every node) with the mount's active leases of that connection, on request
// (GET <mount>/reconcile/:name) and periodically (reconcile_due, every 5 s from the periodic jobs:
// each connection at most once per its reconcile_interval, default 5m, 0 = never).
//
// Race-free by construction: users are listed before and after the leases are read; a lease issued
// during the check (issued less than 2 s before it started) and a user dropped during it are not
// reported. At most 1000 entries per list and node.
//
// Example: a Redis primary restarted without persistence -> its node_report lists every active
// lease in leases_without_user; a user "v-token-app-..." left by a crash with no lease ->
// users_without_lease on each node that still has it.
//
// Thread: all methods are safe concurrently. mu_ (leaf) guards last_ (the last check of each
// connection); reconcile holds no lock of its own across its plugin calls.
#include <map>
#include <mutex>
#include <string>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/records.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::engine {

class reconciler {
 public:
  reconciler(connections& conns, leases::lease_manager& leases, const clock& clk, std::string mount);

  // Errors: unknown connection, a plugin that cannot list users (invalid_request "connection \"x\" cannot be
  // reconciled: ...").
  result<reconcile_report> reconcile(const std::string& connection);
  // Reconciles the connections that are due and logs what is not clean (never the users' passwords).
  void reconcile_due();

 private:
  // Whether `name` is due at `now` by its config; if so its last check becomes `now`.
  bool take_due(const std::string& name, const connection_config& c, time_point now);
  void log_findings(const std::string& name, const reconcile_report& r) const;

  connections& conns_;
  leases::lease_manager& leases_;
  const clock& clock_;
  const std::string mount_;
  std::mutex mu_;
  std::map<std::string, time_point> last_;  // guarded by mu_
};

}  // namespace credbroker::engine
