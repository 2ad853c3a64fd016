#pragma once
// database_plugin: the boundary between the broker and one database (modelled on Vault's dbplugin v5).
//
// One instance serves one configured connection ("config/:name"). Every call takes one request
// struct and returns result<response struct>; no exception crosses this boundary, and every error
// message has been scrubbed of secrets (see sanitize.hpp) before it leaves the plugin.
//
// Thread: the broker calls a plugin only from its worker pool, never from an I/O thread. Calls may
// arrive concurrently; an implementation serialises what it must (its connection pool bounds the
// number of concurrent database sessions to max_open_connections).
//
// Lifecycle: construct (from the registry) -> initialize -> any number of calls -> close.
//
// Issuance is split in two so the broker can make the lease durable before the user exists:
//   generate_username(metadata) -> name   (pure: no database call)
//   [broker writes the lease as pending, with this process's boot id]
//   new_user(name, statements, password, expiration)
//
// Crash recovery (ARCHITECTURE.md "Durability"): a pending lease of an earlier boot is settled as
//   end_sessions(its boot)   no statement of that process can commit any more
//   user_exists(name)        now the answer is final: present -> active, absent -> deleted + forgotten
// and if end_sessions fails the lease stays pending and is tried again later (never forgotten while
// its creation could still commit).
// Error codes: errc::invalid_request for bad input (statements, templates, config), errc::unavailable
// when the database cannot be reached or times out, errc::internal for anything else.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"
#include "broker/plugin/boot_id.hpp"

namespace credbroker::plugin {

using time_point = std::chrono::system_clock::time_point;

struct initialize_request {
  nlohmann::json config;    // connection_details as the user wrote them (may hold the root password)
  bool verify_connection = true;  // connect and probe before answering
  // The broker process's boot (boot_id.hpp): every session the plugin opens is tagged with it, so a
  // later process can end them with end_sessions(). Tests set it to play two processes in one.
  std::string boot_id = plugin::boot_id();
};
struct initialize_response {
  nlohmann::json config;  // normalised config to persist (the plugin may fill in defaults)
};

struct username_metadata {
  std::string display_name;  // the token's display name ("token", "token-ci", "approle")
  std::string role_name;
};

struct new_user_request {
  std::string username;                      // from generate_username
  std::vector<std::string> statements;       // the role's creation statements
  std::vector<std::string> rollback_statements;
  secret password;
  time_point expiration;  // the database-side expiry (the broker passes lease expiry + 5 s)
  // A lower bound of the password's entropy in bits, from the policy that generated it
  // (engine/password_policy.hpp); 0: unknown. A plugin may skip key stretching at >= 100 bits.
  double password_entropy_bits = 0;
};

struct change_password {
  secret new_password;
  std::vector<std::string> statements;  // empty: the plugin's default
  double password_entropy_bits = 0;     // as new_user_request's
};
struct change_expiration {
  time_point new_expiration;
  std::vector<std::string> statements;  // empty: the plugin's default
};
struct update_user_request {
  std::string username;
  std::optional<change_password> password;
  std::optional<change_expiration> expiration;
};

struct delete_user_request {
  std::string username;
  std::vector<std::string> statements;  // empty: the plugin's default revocation
};

struct rotate_root_request {
  secret new_password;
  std::vector<std::string> statements;  // root_rotation_statements; empty: the plugin's default
  double password_entropy_bits = 0;     // as new_user_request's
};

struct verify_response {};
struct close_response {};

// The users a database holds whose names start with the prefix the broker's usernames start with,
// per node ("host:port") for databases that do not replicate users (Redis).
// A plugin's connection pool at one instant, for the metrics (sys/metrics). Redis: summed over nodes.
struct pool_stats {
  std::size_t open = 0;      // sessions open, idle or lent
  std::size_t in_use = 0;    // of which lent to a call now
  std::size_t waiters = 0;   // calls waiting for a session (the pool is at max_open)
  std::size_t max_open = 0;  // max_open_connections
};

struct user_listing {
  std::string prefix;
  std::vector<std::pair<std::string, std::vector<std::string>>> nodes;
};

class database_plugin {
 public:
  virtual ~database_plugin() = default;

  // "postgres" / "redis": for logs and metrics only; no behaviour switches on it.
  virtual std::string type() const = 0;

  // The connection_details keys this plugin reads. The engine drops any other key of a config write
  // with a warning, so no setting is stored that nobody reads. Empty: every key is accepted.
  virtual std::vector<std::string> config_keys() const { return {}; }

  // Warnings for a role (or connection) whose passwords have this much entropy (bits, a lower bound),
  // when a setting of this connection does not apply to such passwords. No database call.
  virtual std::vector<std::string> password_warnings(double entropy_bits) const {
    (void)entropy_bits;
    return {};
  }

  // Validate the config; if verify_connection, open a fresh connection and probe it.
  // Errors: errc::invalid_request for a bad config, errc::unavailable when the database cannot be
  // reached or refuses the credentials. Idempotent: a second call replaces the first config (and
  // drops pooled connections made with the old one).
  virtual result<initialize_response> initialize(initialize_request req) = 0;

  // A fresh username within the database's limits (PostgreSQL: 63 bytes). Never truncates silently
  // into a possible collision: a template that yields too long a name is an error. No database call.
  virtual result<std::string> generate_username(const username_metadata& meta) = 0;

  // Creates the user; all statements in one transaction (nothing is left on failure).
  // Errors: "empty creation statements" (invalid_request) when the plugin has no default.
  virtual result<ok_t> new_user(const new_user_request& req) = 0;

  // Changes the password and/or the database-side expiry of an existing user.
  virtual result<ok_t> update_user(const update_user_request& req) = 0;

  // Removes the user and ends its live sessions where the database allows. Idempotent: succeeds
  // when the user is already gone (a retry after a crash must be safe).
  virtual result<ok_t> delete_user(const delete_user_request& req) = 0;

  // Whether the user exists completely: on every node the plugin writes to (crash recovery of pending
  // leases; a user on some nodes only is an issuance cut half-way, which the broker deletes).
  virtual result<bool> user_exists(const std::string& username) = 0;

  // Whether no trace of the user is left on any node: an inherited lease's user that is gone was
  // revoked by an earlier broker process (lease_manager.hpp, "Inherited leases"), so its revocation
  // statements do not run again. Default, for a plugin that writes to one node: !user_exists.
  virtual result<bool> user_gone(const std::string& username) {
    auto exists = user_exists(username);
    if (!exists) return std::move(exists).err();
    return !*exists;
  }

  // Crash recovery: ends every session that the broker process started as `boot` holds on the
  // database (every node), and returns only once none is left, so nothing that process sent can
  // still be applied or commit. "" is a broker version before boot ids (its sessions were named
  // "credbroker"). Sessions of other boots (this process's own, another live broker's) are never
  // touched; no session of that boot is a success. Refuses this plugin's own boot.
  // Errors: errc::unavailable (database unreachable, sessions still there after the wait),
  // errc::internal (the database refuses: e.g. no right to end them). Default: unsupported, which
  // keeps that boot's pending leases pending.
  virtual result<ok_t> end_sessions(const std::string& boot) {
    (void)boot;
    return make_error(errc::unsupported_operation, "this plugin cannot end the sessions of an earlier broker process");
  }

  // Changes the root user's password with a fresh login and returns the config to persist (the
  // new password in it). Pooled connections are re-made with the new password.
  virtual result<initialize_response> rotate_root(const rotate_root_request& req) = 0;

  // Open a fresh connection with the current config and run a trivial probe (SELECT 1 / PING).
  virtual result<verify_response> verify() = 0;

  // Release every connection. Safe to call twice; later calls to other verbs fail cleanly.
  virtual result<close_response> close() = 0;

  // Optional (reconciliation): the broker-made users on every node, found cheaply (Redis: ACL USERS,
  // never ACL LIST). Default: errc::unsupported_operation.
  virtual result<user_listing> list_users() {
    return make_error(errc::unsupported_operation, "this plugin cannot list its users");
  }

  // The pool right now (sys/metrics): cheap, never calls the database. Default: no pool (zeros).
  virtual pool_stats pool() const { return {}; }
};

}  // namespace credbroker::plugin
