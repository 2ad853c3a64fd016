#pragma once
// database_engine: one mount of the database secrets engine (Vault's builtin/logical/database):
// connection configs, dynamic roles, and issuance of credentials with a lease.
//
// Storage, under the mount's prefix (e.g. "logical/<mount uuid>/"), through the barrier:
//   config/<name>   connection_config as JSON (holds the root password: never returned as is)
//   role/<name>     role as JSON
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
// Thread: all methods are safe concurrently. Plugin instances are made lazily per connection and
// shared; reset() and config writes replace them. Configs and roles are cached in memory once read
// (this process is the only writer of its storage); every write or delete here updates the cache,
// and a read that raced a write never installs what it read (a generation counter).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/secret.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/record_codec.hpp"
#include "broker/engine/records.hpp"
#include "broker/engine/rotation_timing.hpp"
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
  // Returns warnings (also the plugin's about the connection's password policy). Errors (400):
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

  // Vault's creds/:name. Errors: "unknown role: x" (400), "\"x\" is not an allowed role" (500),
  // plugin errors (500), database unreachable (errc::unavailable).
  result<issued_creds> issue(const std::string& role_name, const caller_info& caller);

  // For the lease manager (via the mount dispatcher).
  status revoke(const leases::lease& l);
  status renew(const leases::lease& l, time_point new_expire);
  // Settles one lease left pending by a crash: the sessions of its boot ended (if an earlier one),
  // then user complete (every node) -> active (true); absent or partial -> deleted (idempotent) and
  // forgotten (false). An error leaves the lease as it was (pending): settle it again later.
  result<bool> resolve_pending(const leases::lease& l);

  // Compares the users a connection's database holds (plugin list_users: Redis ACL USERS on every
  // node) with its active leases. Errors: unknown connection, a plugin that cannot list users (400).
  // Leases issued during the check and users dropped during it are not reported.
  result<reconcile_report> reconcile(const std::string& connection);
  // Reconciles the connections whose reconcile_interval (config, default 5m; 0 = never; only plugins
  // that can list users) has passed since their last check, and logs what is not clean.
  void reconcile_due();

  // Root rotation (rotate-root/:name), crash-safe (docs/rotation.md): a durable WAL {old, new}, the
  // change in the database, a fresh login with the new password, the new config stored, the WAL
  // deleted. Issuance and revocation keep working meanwhile. Errors: unknown connection, no username
  // or password in the config (500 "unable to rotate root credentials: no username|password in
  // configuration"), a failed change (500; the old password keeps working).
  status rotate_root(const std::string& name);

  // Static roles (static-roles/:name, static-creds/:name, rotate-role/:name). A create rotates the
  // password at once (and fails, storing nothing, if that fails).
  result<std::optional<static_role>> read_static_role(const std::string& name);
  // Returns warnings (skip_import_rotation without a password; the plugin's about the password policy).
  result<std::vector<std::string>> write_static_role(static_role_update u);
  status delete_static_role(const std::string& name);  // the database account stays
  result<std::vector<std::string>> list_static_roles();
  // The current credentials; errors as Vault's (400 "unknown role: x", 500 not allowed).
  result<static_role> static_creds(const std::string& name);
  // A rotation now. Error 400 "no static role found for role name"; a failure is retried in the
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
  // (400): "mutually exclusive fields rotation_schedule and rotation_period were both specified; only
  // one of them can be provided", "rotation_window does not apply to period", a period under 5 s, a
  // window under 1 h, a schedule that does not parse.
  static status apply_root_rotation(const config_update& u, rotation_state& r);

  // The redacted form of a config for reads (no password; literal URL passwords masked).
  static nlohmann::json redacted(const connection_config& c);

 private:
  result<std::shared_ptr<plugin::database_plugin>> instance(const std::string& name);
  // The plugin's warnings about passwords of `policy` ("" = the default). A policy that does not
  // exist yet gives none: it is checked when a password is generated.
  std::vector<std::string> policy_warnings(const plugin::database_plugin& inst, const std::string& policy);
  // Adds policy_warnings for a role's policy on `db_name` when its connection exists.
  void add_policy_warnings(const std::string& db_name, const nlohmann::json& credential_config,
                           std::vector<std::string>& warnings);
  // A new plugin instance of `plugin_name`, initialised with `details` (verify: log in now); not
  // registered anywhere yet.
  result<std::shared_ptr<plugin::database_plugin>> open_instance(const std::string& plugin_name,
                                                                 const nlohmann::json& details, bool verify);
  // Makes `inst` the connection's instance and closes the one it replaces (calls in flight on the
  // old one finish: they hold it).
  void install_instance(const std::string& name, std::shared_ptr<plugin::database_plugin> inst);
  result<std::shared_ptr<const connection_config>> must_config(const std::string& name);
  void drop_instance(const std::string& name);
  // The cached or stored value; null when absent.
  result<std::shared_ptr<const connection_config>> config_ptr(const std::string& name);
  result<std::shared_ptr<const role>> role_ptr(const std::string& name);
  template <class T, class Parse>
  result<std::shared_ptr<const T>> cached(std::map<std::string, std::shared_ptr<const T>>& cache, const std::string& key,
                                          const std::string& what, const std::string& name, Parse parse);
  void cache_set_config(const std::string& name, std::shared_ptr<const connection_config> c);
  void cache_set_role(const std::string& name, std::shared_ptr<const role> r);
  status store_config(const connection_config& c);
  status store_static_role(const static_role& r);
  result<std::optional<static_role>> load_static_role(const std::string& name);
  std::shared_ptr<std::shared_mutex> static_lock(const std::string& name);
  std::shared_ptr<std::mutex> root_lock(const std::string& name);
  // Settles an open root WAL; ok once the config holds a password that logs in.
  status resolve_root_wal(const std::string& name);
  status roll_forward_static_wal(const std::string& name);
  // One attempt: true on success; on failure the state records it and a retry is scheduled.
  status rotate_static_locked(static_role& r, const char* why);
  void schedule_static(const static_role& r);
  void schedule_root(const connection_config& c);
  // Ends the sessions of broker run `boot` on the connection unless that was done already in this
  // process (or `boot` is this process's): no creation of that run can commit afterwards.
  status end_sessions_of(const std::string& connection, plugin::database_plugin& inst, const std::string& boot);

  storage::physical& store_;
  const plugin::registry& plugins_;
  leases::lease_manager& leases_;
  password_policies& passwords_;
  const clock& clock_;
  std::string mount_;
  std::string prefix_;
  std::function<leases::ttl_limits()> limits_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<plugin::database_plugin>> instances_;
  std::map<std::string, std::shared_ptr<std::mutex>> init_locks_;
  std::map<std::string, std::shared_ptr<const connection_config>> configs_;
  std::map<std::string, std::shared_ptr<const role>> roles_;
  std::uint64_t generation_ = 0;  // bumped by every write or delete of a config or role
  std::map<std::string, time_point> last_reconcile_;
  rotation_scheduler* rotations_ = nullptr;
  std::map<std::string, std::shared_ptr<std::shared_mutex>> static_locks_;  // rotate exclusive, read shared
  std::map<std::string, std::shared_ptr<std::mutex>> root_locks_;           // one root rotation at a time
  std::string boot_;  // this process's boot id: written into pending leases, given to every plugin
  // Per connection, the earlier boots whose sessions were ended (guarded by mu_); forgotten when the
  // connection gets a new plugin instance (it may point elsewhere).
  std::map<std::string, std::set<std::string>> ended_boots_;
  std::map<std::string, std::shared_ptr<std::mutex>> end_locks_;  // one end_sessions per connection at a time
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

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<database_engine>> engines_;
};

}  // namespace credbroker::engine
