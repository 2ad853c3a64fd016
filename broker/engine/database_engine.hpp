#pragma once
// database_engine: one mount of the database secrets engine (Vault's builtin/logical/database):
// connection configs, dynamic roles, and issuance of credentials with a lease.
//
// Storage, under the mount's prefix (e.g. "logical/<mount uuid>/"), through the barrier:
//   config/<name>         connection_config as JSON (holds the root password: never returned as is)
//   role/<name>           role as JSON
//   static-role/<name>    static_role as JSON (holds the account's current password)
//   wal/root/<name>       an open root rotation; wal/static/<name>: a static one (docs/rotation.md)
//
// Issuance (crash-safe, ARCHITECTURE.md "Durability"):
//   1. username (plugin.generate_username), password (password policy), lease id, expiry
//   2. the lease is written durably as `pending` (it holds everything needed to revoke the user)
//   3. plugin.new_user (one transaction; VALID UNTIL = expiry + 5 s)
//   4. the lease becomes `active`, the credentials are returned
// If 3 fails, the user is deleted (idempotent) and the lease forgotten; if even that fails the
// pending lease stays and is revoked at its expiry. A crash between 2 and 4 leaves a pending lease
// that resolve_pending() settles at start-up with user_exists. So a database user never exists
// without a lease.
//
// A pending lease records the boot id of the process that wrote it (plugin/boot_id.hpp); the
// activation clears it. A pending lease of an earlier boot is in doubt: the dead process's creation
// may still be running in the database (waiting on a lock, for a synchronous standby ...) and commit
// after any user_exists. So before such a lease is settled or revoked, the connection's plugin ends
// that boot's sessions (end_sessions: terminate, then wait until none is left), once per connection
// and boot in this process; if that fails, the lease is neither settled nor revoked (kept pending,
// or revoking with the error), and tried again later.
//
// The engine is a facade over one class per job, each in its own file:
//   connections        connection configs (cached) and their plugin instances, config writes,
//                      ending the sessions of an earlier boot                     (connections.hpp)
//   role_store         dynamic roles (cached)                                     (role_store.hpp)
//   static_role_store  stored static roles and their locks                 (static_role_store.hpp)
//   issuance           creds, revoke, renew, pending leases                         (issuance.hpp)
//   reconciler         database users vs. active leases                       (reconciliation.hpp)
//   root_rotation      rotate-root, its WAL, scheduled root rotations          (root_rotation.hpp)
//   static_rotation    static roles' writes, creds and rotations, their WALs (static_rotation.hpp)
// and plain functions: records.hpp (the records), record_codec.hpp (their JSON, the redacted
// config), rotation_timing.hpp (next rotation, window, backoff, the rotation-field checks).
//
// Thread: all methods are safe concurrently. Plugin instances are made lazily per connection and
// shared; reset() and config writes replace them. Configs and roles are cached in memory once read
// (this process is the only writer of its storage); every write or delete here updates the cache,
// and a read that raced a write never installs what it read (a generation counter per cache).
// The engine's locks, each named by what it guards (an arrow: may be taken while holding):
//   root lock (per connection, root_rotation)     one root rotation, root-WAL settlement, config
//                                                 write or config delete of a connection at a time
//   static lock (per static role, static_role_store)  exclusive: a write, delete, rotation or WAL
//                                                 roll-forward of the role; shared: a read, creds
//     The two are never held together. Both are held across database calls.
//     -> init lock (per connection, connections)  one plugin initialisation (a login) at a time
//          -> the leaves below
//     -> password_policies' lock, rotation_scheduler::mu_ (schedule, cancel), storage
//   end lock (per connection, connections)        one end_sessions of a connection at a time; taken
//                                                 with no other engine lock held (a revocation may
//                                                 hold its lease's lock around it)
//     -> connections::mu_
//   leaves, never held across a plugin call or storage I/O: connections::mu_ (instance table,
//   init/end lock tables, ended boots), the config and role caches' locks, static_role_store::mu_
//   and root_rotation::mu_ (their lock tables), reconciler::mu_ (last checks), engine_router::mu_
// A scheduled rotation job runs on the blocking executor and takes the root or static lock like a
// request; it holds the engine alive (a weak_ptr locked) while it runs.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/secret.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/issuance.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/reconciliation.hpp"
#include "broker/engine/record_codec.hpp"
#include "broker/engine/records.hpp"
#include "broker/engine/role_store.hpp"
#include "broker/engine/root_rotation.hpp"
#include "broker/engine/rotation_timing.hpp"
#include "broker/engine/static_role_store.hpp"
#include "broker/engine/static_rotation.hpp"
#include "broker/plugin/registry.hpp"
#include "broker/storage/physical.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::engine {

class rotation_scheduler;

class database_engine : public std::enable_shared_from_this<database_engine> {
 public:
  // mount: "database/"; prefix: where its data lives; limits: the mount's effective TTL limits;
  // rotations: the scheduler of static roles and scheduled root rotations (null: manual only).
  database_engine(storage::physical& store, const plugin::registry& plugins, leases::lease_manager& leases,
                  password_policies& passwords, const clock& clk, std::string mount, std::string prefix,
                  std::function<leases::ttl_limits()> limits, rotation_scheduler* rotations = nullptr,
                  std::string boot = plugin::boot_id());
  ~database_engine();

  const std::string& mount() const { return mount_; }
  time_point now() const { return clock_.now(); }

  result<std::optional<connection_config>> read_config(const std::string& name);
  // Returns warnings (also the plugin's about the connection's password policy). Errors (invalid_request):
  // "empty plugin name", "error creating database object: ...".
  result<std::vector<std::string>> write_config(config_update u);
  status delete_config(const std::string& name);
  result<std::vector<std::string>> list_configs();
  status reset(const std::string& name);

  result<std::optional<role>> read_role(const std::string& name);
  // Returns warnings: the connection's plugin's about the role's password policy (PostgreSQL: too
  // weak for its scram_iterations, so 4096 are used).
  result<std::vector<std::string>> write_role(role r);
  status delete_role(const std::string& name);
  result<std::vector<std::string>> list_roles();

  // Vault's creds/:name. Errors: "unknown role: x" (invalid_request), "\"x\" is not an allowed role" (role_not_allowed),
  // plugin errors (internal), database unreachable (errc::unavailable).
  result<issued_creds> issue(const std::string& role_name, const caller_info& caller);

  // For the lease manager (via the mount dispatcher).
  // earlier_boots: for an inherited lease (issuance.hpp).
  status revoke(const leases::lease& l, const std::vector<std::string>& earlier_boots = {});
  status renew(const leases::lease& l, time_point new_expire);
  // Settles one lease left pending by a crash: the sessions of its boot ended (if an earlier one),
  // then user complete (every node) -> active (true); absent or partial -> deleted (idempotent) and
  // forgotten (false). An error leaves the lease as it was (pending): settle it again later.
  result<bool> resolve_pending(const leases::lease& l);

  // Compares the users a connection's database holds (plugin list_users: Redis ACL USERS on every
  // node) with its active leases. Errors: unknown connection, a plugin that cannot list users (invalid_request).
  // Leases issued during the check and users dropped during it are not reported.
  result<reconcile_report> reconcile(const std::string& connection);
  // Reconciles the connections whose reconcile_interval (config, default 5m; 0 = never; only plugins
  // that can list users) has passed since their last check, and logs what is not clean.
  void reconcile_due();

  // Root rotation (rotate-root/:name), crash-safe (docs/rotation.md): a durable WAL {old, new}, the
  // change in the database, a fresh login with the new password, the new config stored, the WAL
  // deleted. Issuance and revocation keep working meanwhile. Errors: unknown connection, no username
  // or password in the config (internal "unable to rotate root credentials: no username|password in
  // configuration"), a failed change (internal; the old password keeps working).
  status rotate_root(const std::string& name);

  // Static roles (static-roles/:name, static-creds/:name, rotate-role/:name). A create rotates the
  // password at once (and fails, storing nothing, if that fails).
  result<std::optional<static_role>> read_static_role(const std::string& name);
  // Returns warnings (skip_import_rotation without a password; the plugin's about the password policy).
  result<std::vector<std::string>> write_static_role(static_role_update u);
  status delete_static_role(const std::string& name);  // the database account stays
  result<std::vector<std::string>> list_static_roles();
  // The current credentials; errors as Vault's (invalid_request "unknown role: x", role_not_allowed).
  result<static_role> static_creds(const std::string& name);
  // A rotation now. Error invalid_request "no static role found for role name"; a failure is retried in the
  // background with backoff and fresh passwords.
  status rotate_static(const std::string& name);

  // Start-up (after a crash): resolves open rotation WALs (roots: the stored password, then the new
  // one, then finishing a partial change; static accounts: rolled forward), then schedules every
  // static role and scheduled root rotation. Database calls: run it off the start-up path.
  void recover_rotations();

  // The connection pool of every connection that has a plugin instance now (made at first use), by
  // connection name (sys/metrics). No database call; safe beside every other method.
  std::vector<std::pair<std::string, plugin::pool_stats>> pools() const;

  // Closes every plugin instance (seal, unmount) and takes this mount's rotations off the scheduler.
  void close_all();
  // Deletes every key under the prefix (unmount, after its leases were revoked).
  status destroy_all();

  // Checks Vault's automated-rotation fields of a config write and applies them to `r`. Errors
  // (invalid_request): "mutually exclusive fields rotation_schedule and rotation_period were both specified; only
  // one of them can be provided", "rotation_window does not apply to period", a period under 5 s, a
  // window under 1 h, a schedule that does not parse.
  static status apply_root_rotation(const config_update& u, rotation_state& r);

  // The redacted form of a config for reads (no password; literal URL passwords masked).
  static nlohmann::json redacted(const connection_config& c);

 private:
  storage::physical& store_;
  const clock& clock_;
  const std::string mount_;
  const std::string prefix_;
  rotation_scheduler* const rotations_;
  // The jobs, in construction order (each refers only to those above it).
  connections connections_;
  static_role_store static_roles_;
  role_store roles_;
  issuance issuance_;
  reconciler reconciler_;
  root_rotation root_;
  static_rotation statics_;
};

// The lease manager's revoker for every database mount: routes a lease to the engine whose mount
// its id starts with. Thread-safe; mounts come and go while leases are revoked.
class engine_router final : public leases::revoker {
 public:
  void add(std::shared_ptr<database_engine> e);
  void remove(const std::string& mount);
  std::shared_ptr<database_engine> find_for_lease(const std::string& lease_id) const;
  std::vector<std::shared_ptr<database_engine>> all() const;

  status revoke(const leases::lease& l) override;
  status renew(const leases::lease& l, time_point new_expire) override;
  // The boot ids of the processes that were the active node before this one (node/boot_history.hpp),
  // whose sessions an inherited lease's revocation ends first.
  void set_earlier_boots(std::vector<std::string> boots);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<database_engine>> engines_;  // guarded by mu_
  std::vector<std::string> earlier_boots_;                            // guarded by mu_
};

}  // namespace credbroker::engine
