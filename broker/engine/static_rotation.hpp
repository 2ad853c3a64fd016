#pragma once
// static_rotation: static roles (Vault's static-roles/:name, static-creds/:name, rotate-role/:name)
// — pre-existing database accounts whose password the broker rotates — crash-safe (docs/rotation.md):
//   1. a WAL record wal/static/<name> with the new password is written durably
//   2. the password is changed in the database            (crash: start-up rolls the WAL forward)
//   3. the role is stored with the new password            (crash: the WAL is stale)
//   4. the WAL record is deleted
// A failed attempt is stored in the role (error, attempts) and retried in the background with
// backoff (rotation_timing.hpp) and a fresh password, never the one just refused. A create rotates
// at once (and stores nothing if that fails) unless skip_import_rotation.
//
// Scheduling: a static role's next rotation (or retry) is on the rotation scheduler under
// "<mount>|static|<name>", serial "<mount>|<connection>" (one at a time with the connection's root
// rotation and its other accounts); a job later than its window waits for the next time.
//
// Invariant: every change of an account's password, in the database or in its record, happens with
// the role's static lock held exclusively (static_role_store.hpp), so static-creds never answers a
// password the database does not have (unless a WAL is open: then start-up rolls it forward).
//
// Example: write({.name = "svc", .db_name = "pg", .username = "svc", .rotation_period = 1h}) ->
// svc's password changed now, the role stored with it and next = now + 1h, static_creds("svc")
// answers it.
//
// Thread: all methods are safe concurrently. It takes the static lock of a role (exclusive to
// change, shared to read) and, inside it, the connections' locks; no lock of its own. A scheduled
// job holds the engine alive (owner) while it runs.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/records.hpp"
#include "broker/engine/role_store.hpp"
#include "broker/engine/static_role_store.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

class rotation_scheduler;

class static_rotation {
 public:
  // rotations: null = manual only. owner: see root_rotation.
  static_rotation(storage::physical& store, static_role_store& statics, role_store& roles, connections& conns,
                  password_policies& passwords, const clock& clk, std::string mount, rotation_scheduler* rotations,
                  std::function<std::weak_ptr<const void>()> owner);

  result<std::optional<static_role>> read(const std::string& name);
  // Returns warnings; errors as database_engine::write_static_role.
  result<std::vector<std::string>> write(static_role_update u);
  status remove(const std::string& name);  // the database account stays
  result<std::vector<std::string>> list() { return statics_.list(); }
  result<static_role> creds(const std::string& name);
  status rotate(const std::string& name);
  // Start-up: rolls every open WAL forward; failures are logged.
  void recover_wals();
  // Start-up, after recover_wals: schedules every stored static role.
  void schedule_all();

 private:
  // The update's fields over the stored role (or a new one), checked. Errors as Vault's (invalid_request).
  static result<static_role> merged(const static_role_update& u, const std::optional<static_role>& existing,
                                    bool create);
  // One attempt, the role's lock held exclusively (see above).
  status rotate_locked(static_role& r, const char* why);
  // The database took `password`: the role holds it, its rotation succeeded now (not stored).
  void rotated(static_role& r, const secret& password) const;
  status roll_forward(const std::string& name);
  void schedule(const static_role& r);
  // A due scheduled job: the window check and the rotation, under the role's lock.
  void run_scheduled(const std::string& name);

  storage::physical& store_;
  static_role_store& statics_;
  role_store& roles_;
  connections& conns_;
  password_policies& passwords_;
  const clock& clock_;
  const std::string mount_;
  rotation_scheduler* const rotations_;
  const std::function<std::weak_ptr<const void>()> owner_;
};

}  // namespace credbroker::engine
