#pragma once
// database_plugin: the boundary between the broker and one database (modelled on Vault's dbplugin v5).
//
// One instance serves one configured connection ("config/:name"). Every call takes one request
// struct and returns result<response struct>; no exception crosses this boundary, and every error
// message has been scrubbed of secrets (see sanitize.hpp) before it leaves the plugin.
//
// Thread: the broker calls a plugin only from its worker pool, never from an I/O thread. Calls may
// arrive concurrently; an implementation serialises what it must (e.g. its connection pool).
//
// Lifecycle: construct (from the registry) -> initialize -> any number of calls -> close.
// The user-management verbs (new_user, update_user, delete_user, user_exists, rotate_root) join this
// interface with the database engine; today the broker only configures and probes connections.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"

namespace credbroker::plugin {

struct initialize_request {
  nlohmann::json config;    // connection_details as the user wrote them (may hold the root password)
  bool verify_connection = true;  // connect and probe before answering
};
struct initialize_response {
  nlohmann::json config;  // normalised config to persist (the plugin may fill in defaults)
};

struct verify_response {};
struct close_response {};

class database_plugin {
 public:
  virtual ~database_plugin() = default;

  // "postgres" / "redis": for logs and metrics only; no behaviour switches on it.
  virtual std::string type() const = 0;

  // Validate the config; if verify_connection, open a fresh connection and probe it.
  // Errors: errc::invalid_request for a bad config, errc::unavailable when the database cannot be
  // reached or refuses the credentials. Idempotent: a second call replaces the first config.
  virtual result<initialize_response> initialize(initialize_request req) = 0;

  // Open a fresh connection with the current config and run a trivial probe (SELECT 1 / PING).
  virtual result<verify_response> verify() = 0;

  // Release every connection. Safe to call twice; later calls to other verbs fail cleanly.
  virtual result<close_response> close() = 0;
};

}  // namespace credbroker::plugin
