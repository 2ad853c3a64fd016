#pragma once
// issuance: dynamic credentials with a lease (Vault's creds/:name) and what the lease manager asks
// of them later — revoke, renew, and settling a lease a crash left pending. The protocol
// (database_engine.hpp, "Issuance"): the lease is durable as `pending` before the user is created,
// and `active` after; a failure deletes the user (idempotent) before the lease is forgotten.
//
// Invariant: a database user made here never exists without a lease that can revoke it; a pending
// lease of an earlier broker run is settled or revoked only after that run's sessions on the
// connection ended (connections::end_sessions_of).
//
// Example: issue("app", {display_name "token"}) on role app (default_ttl 1h) -> lease
// "database/creds/app/<id>" (pending, then active), a user named by the plugin's username template
// with VALID UNTIL = expiry + 5 s, answered with ttl 1h (capped by the mount's limits, with Vault's
// warning).
//
// Thread: all methods are safe concurrently; no lock of its own (the connections' and the lease
// manager's are taken inside the calls, none across another).
#include <functional>
#include <string>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/records.hpp"
#include "broker/engine/role_store.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::engine {

class issuance {
 public:
  // limits: the mount's effective TTL limits, read at every issue.
  issuance(connections& conns, role_store& roles, leases::lease_manager& leases, password_policies& passwords,
           const clock& clk, std::string mount, std::function<leases::ttl_limits()> limits);

  // Errors: "unknown role: x" (invalid_request), "\"x\" is not an allowed role" (role_not_allowed), plugin errors (internal),
  // database unreachable (errc::unavailable).
  result<issued_creds> issue(const std::string& role_name, const caller_info& caller);
  // An inherited lease (l.inherited) is revoked as "Inherited leases" (lease_manager.hpp) asks: the
  // sessions of `earlier_boots` (the processes that were active before this one) on its connection
  // are ended first, so no revocation of theirs can still commit, and if the user is gone then, an
  // earlier process revoked it and the statements do not run again (if the plugin cannot tell, they
  // run: at worst twice, never not at all).
  status revoke(const leases::lease& l, const std::vector<std::string>& earlier_boots = {});
  status renew(const leases::lease& l, time_point new_expire);
  // User complete (every node) -> active (true); absent or partial -> deleted and forgotten (false).
  // An error leaves the lease pending.
  result<bool> resolve_pending(const leases::lease& l);

 private:
  // The lease of a new issuance, pending and with this process's boot (step 2 of database_engine.hpp).
  leases::lease pending_lease(const role& ro, const std::string& role_name, const std::string& username,
                              time_point now, std::chrono::seconds ttl, const caller_info& caller) const;
  // Inherited lease: true when an earlier process revoked its user already (see revoke()).
  result<bool> revoked_before(const leases::lease& l, plugin::database_plugin& inst,
                              const std::vector<std::string>& earlier_boots);
  // Creates the user of the pending lease `l` and activates the lease; on any failure the user is
  // deleted and the lease forgotten (or, if the database cannot be checked, left pending).
  status create_and_activate(plugin::database_plugin& inst, const role& ro, const leases::lease& l,
                             const generated_password& password);

  connections& conns_;
  role_store& roles_;
  leases::lease_manager& leases_;
  password_policies& passwords_;
  const clock& clock_;
  const std::string mount_;
  const std::function<leases::ttl_limits()> limits_;
};

}  // namespace credbroker::engine
