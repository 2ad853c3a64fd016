#pragma once
// root_rotation: rotate-root/:name and scheduled root rotations of a mount's connections, crash-safe
// (docs/rotation.md). Every change follows one protocol:
//   1. a WAL record wal/root/<name> {old, new} is written durably   (crash here: nothing changed)
//   2. the password is changed in the database, then a fresh login (crash here: the WAL has it)
//   3. the new config is stored                                      (crash here: the WAL is stale)
//   4. the WAL record is deleted
// An open WAL is settled (resolve_wal) before any new rotation and at start-up (recover_wals): the
// stored password still logs in -> dropped; the WAL's new one logs in -> adopted; neither (several
// nodes, cut half-way) -> the change is finished with the new one.
//
// Scheduling (rotation_timing.hpp): a connection with a period or schedule and not disabled is on
// the rotation scheduler under "<mount>|root|<name>", serial "<mount>|<name>" (with its static
// accounts: one at a time); a job later than its window waits for the next time; a failure is
// recorded in the config and retried with backoff.
//
// Invariant: at every step the stored config or the WAL holds a password that logs in, and never
// is a WAL written over an open one.
//
// Example: rotate("pg") with {username admin, password p0} -> the WAL {p0, p1}, ALTER ROLE admin to
// p1, a login with p1, config stored with p1 and last = now, the WAL deleted.
//
// Thread: all methods are safe concurrently.
//   root lock (per connection, lock())  one rotation, WAL settlement, config write or delete of a
//                                       connection at a time; held across database calls
//   mu_ (leaf)                          locks_, the table of root locks
// A scheduled job holds the engine alive (owner) while it runs, so this object outlives it.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/records.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

class rotation_scheduler;

class root_rotation {
 public:
  // rotations: null = manual only. owner: a weak handle on what owns this object (the engine),
  // locked by every scheduled job while it runs.
  root_rotation(storage::physical& store, connections& conns, password_policies& passwords, const clock& clk,
                std::string mount, std::string prefix, rotation_scheduler* rotations,
                std::function<std::weak_ptr<const void>()> owner);

  std::shared_ptr<std::mutex> lock(const std::string& connection);
  // Takes the root lock. Errors: see database_engine::rotate_root.
  status rotate(const std::string& name);
  // Puts the connection's next rotation (or retry) on the scheduler, or takes it off.
  void schedule(const connection_config& c);
  void unschedule(const std::string& name);
  // Start-up: settles every open WAL (each under its root lock); failures are logged.
  void recover_wals();
  // Start-up, after recover_wals: schedules every stored connection.
  void schedule_all();

 private:
  // Settles an open WAL, the root lock held; ok once the config holds a password that logs in.
  status resolve_wal(const std::string& name);
  // The WAL's cases a) to c), for a WAL that names the new password.
  status settle_wal(const std::string& name, const connection_config& cfg, const std::string& new_password);
  // The database has the WAL's new password (in `details`): stored with the rotation's time, the
  // instance installed, the WAL removed.
  status adopt_wal_password(const std::string& name, const connection_config& cfg,
                            std::shared_ptr<plugin::database_plugin> inst, const nlohmann::json& details);
  // The root password of a config that can be rotated (a username and a password in it).
  static result<std::string> root_password_of(const connection_config& cfg);
  // Steps 1-4, the root lock held and no WAL open.
  status rotate_locked(const std::string& name);
  // A due scheduled job: the window check, the rotation, a failure recorded.
  void run_scheduled(const std::string& name);
  std::string wal_key(const std::string& name) const { return prefix_ + "wal/root/" + name; }

  storage::physical& store_;
  connections& conns_;
  password_policies& passwords_;
  const clock& clock_;
  const std::string mount_;
  const std::string prefix_;
  rotation_scheduler* const rotations_;
  const std::function<std::weak_ptr<const void>()> owner_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;  // guarded by mu_
};

}  // namespace credbroker::engine
