#pragma once
// connections: a mount's connection configs (config/<name>, cached: record_cache.hpp) and the
// plugin instance of each connection — made at first use, shared by every call on the connection,
// replaced by a config write or reset, closed by a delete, a seal or an unmount.
//
// A config write (write) merges the update over the stored config, checks its rotation fields
// (rotation_timing.hpp), drops the keys the plugin does not read (with a warning), initialises a
// fresh instance (verified unless only pool settings changed), stores the plugin's normalised config
// and makes the fresh instance the connection's. Its scheduling is the caller's (root_rotation).
//
// end_sessions_of: a pending lease of an earlier broker run is in doubt until that run's database
// sessions are gone (database_engine.hpp, "A pending lease records the boot id ..."): the sessions
// of one boot are ended once per connection and instance in this process; a new instance forgets it
// (it may point elsewhere).
//
// Invariant: instances_ holds at most one instance per connection; one replaced is closed after it
// left the table (calls in flight on it finish: they hold it).
//
// Example: instance("pg") twice -> one initialize(); write({.name = "pg", details =
// {max_open_connections: 2}}) on a stored "pg" -> no verification login, a new instance, the old one
// closed.
//
// Thread: all methods are safe concurrently.
//   init lock (per connection, init_locks_)  one initialisation of a connection's instance at a
//                                            time; held across plugin initialize (a login)
//   end lock (per connection, end_locks_)    one end_sessions of a connection at a time; held
//                                            across the plugin's end_sessions
//   mu_ (leaf)                               instances_, init_locks_, end_locks_, ended_boots_;
//                                            never held across a plugin call
// Order: init lock -> the config cache's lock, mu_; end lock -> mu_. The two per-connection locks
// are never held together.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/record_cache.hpp"
#include "broker/engine/records.hpp"
#include "broker/plugin/registry.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

class connections {
 public:
  // prefix: where the mount's data lives; boot: this process's boot id (given to every plugin).
  connections(storage::physical& store, const plugin::registry& plugins, password_policies& passwords,
              const clock& clk, std::string mount, std::string prefix, std::string boot);

  const std::string& boot() const { return boot_; }

  // The cached or stored config; null when absent.
  result<std::shared_ptr<const connection_config>> find(const std::string& name);
  // The same; absent is an error: "failed to find entry for connection with name: \"x\"" (internal).
  result<std::shared_ptr<const connection_config>> must(const std::string& name);
  status store(const connection_config& c);
  // Deletes the stored config (the instance stays until drop()).
  status remove(const std::string& name);
  result<std::vector<std::string>> list();
  // Forgets every cached config (the mount's data was deleted).
  void forget_all() { configs_.clear(); }

  struct written {
    connection_config config;  // as stored
    std::vector<std::string> warnings;
  };
  // A config write (see above), the caller holding the connection's root lock. Errors (invalid_request):
  // "empty plugin name", "error creating database object: ...", the rotation fields'.
  result<written> write(config_update u);
  // A new instance from the stored config (must exist).
  status reset(const std::string& name);

  // The connection's instance, made (not verified) at first use.
  result<std::shared_ptr<plugin::database_plugin>> instance(const std::string& name);
  // A new instance of `plugin_name`, initialised with `details` (verify: log in now); registered
  // nowhere yet.
  result<std::shared_ptr<plugin::database_plugin>> open(const std::string& plugin_name, const nlohmann::json& details,
                                                        bool verify);
  // Makes `inst` the connection's instance and closes the one it replaces.
  void install(const std::string& name, std::shared_ptr<plugin::database_plugin> inst);
  // Closes and forgets the connection's instance, if any.
  void drop(const std::string& name);
  // Closes every instance (seal, unmount).
  void close_all();
  // The pool of every connection that has an instance now; no database call.
  std::vector<std::pair<std::string, plugin::pool_stats>> pools() const;

  // Ends the sessions of broker run `boot` on the connection unless that was done already (or
  // `boot` is this process's): no creation of that run can commit afterwards.
  status end_sessions_of(const std::string& connection, plugin::database_plugin& inst, const std::string& boot);

  // The plugin's warnings about passwords of `policy` ("" = the default). A policy that does not
  // exist yet gives none: it is checked when a password is generated.
  std::vector<std::string> policy_warnings(const plugin::database_plugin& inst, const std::string& policy);
  // Adds policy_warnings for a role's policy on `db_name` when its connection exists.
  void add_policy_warnings(const std::string& db_name, const nlohmann::json& credential_config,
                           std::vector<std::string>& warnings);

 private:
  // The keys of `u` the plugin does not read are dropped from `c` (a warning names them).
  static void drop_unread_keys(const plugin::database_plugin& inst, const config_update& u, connection_config& c,
                               std::vector<std::string>& warnings);

  const plugin::registry& plugins_;
  password_policies& passwords_;
  const clock& clock_;
  const std::string mount_;
  const std::string prefix_;
  const std::string boot_;
  record_cache<connection_config> configs_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<plugin::database_plugin>> instances_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<std::mutex>> init_locks_;              // guarded by mu_
  std::map<std::string, std::shared_ptr<std::mutex>> end_locks_;               // guarded by mu_
  // Per connection, the earlier boots whose sessions were ended (guarded by mu_); forgotten when the
  // connection gets a new instance.
  std::map<std::string, std::set<std::string>> ended_boots_;
};

}  // namespace credbroker::engine
