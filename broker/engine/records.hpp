#pragma once
// records: what the database engine stores and answers — connection configs, dynamic roles, static
// roles, their rotation state, and the writes and answers of the API — plus the two small rules
// every job applies to them: which roles a connection allows (glob_match) and which password
// policy a role uses (role_password_policy). Plain values: no I/O, no locks.
//
// Invariant: a record holds everything needed to act on it later (a static_role its current
// password, a connection_config its root password), so these values are secrets where they say so
// and are only returned through record_codec.hpp's redacted form.
//
// Example: glob_match("my-*-role", "my-app-role") is true; role_password_policy(c, {}) is
// c.password_policy, role_password_policy(c, {{"password_policy", "strict"}}) is "strict".
//
// Thread: values; no shared state.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::engine {

// When a root credential or a static account is rotated, and how its last attempts went.
struct rotation_state {
  std::chrono::seconds period{0};  // rotate every period after the last rotation, or ...
  std::string schedule;            // ... at the times of this 5-field cron (UTC); neither: manual only
  std::chrono::seconds window{0};  // with a schedule: a rotation more than this late waits for the next
  bool disabled = false;           // disable_automated_rotation: kept, but not scheduled
  time_point last{};               // epoch: never
  time_point next{};               // epoch: not scheduled
  int attempts = 0;                // failed attempts since the last success
  std::string last_error;
  time_point next_attempt{};
};

struct connection_config {
  std::string name;
  std::string plugin_name;
  std::string plugin_version;
  bool verify_connection = true;
  std::vector<std::string> allowed_roles;
  std::vector<std::string> root_rotation_statements;
  std::string password_policy;  // checked when a password is generated, not when written (as Vault)
  bool skip_static_role_import_rotation = false;  // default of a new static role's skip_import_rotation
  nlohmann::json details = nlohmann::json::object();  // connection_details, root password included
  // Vault's rotation_period / rotation_schedule / rotation_window / disable_automated_rotation, also
  // written as credbroker's earlier root_rotation_period / root_rotation_schedule.
  rotation_state root_rotation;
};

// A config write as the API received it: unset optionals keep the stored values on update.
struct config_update {
  std::string name;
  std::optional<std::string> plugin_name;
  std::optional<std::string> plugin_version;
  std::optional<bool> verify_connection;
  std::optional<std::vector<std::string>> allowed_roles;
  std::optional<std::vector<std::string>> root_rotation_statements;
  std::optional<std::string> password_policy;
  std::optional<bool> skip_static_role_import_rotation;
  std::optional<std::chrono::seconds> root_rotation_period;
  std::optional<std::string> root_rotation_schedule;
  std::optional<std::chrono::seconds> root_rotation_window;
  std::optional<bool> disable_automated_rotation;
  // Every other key, merged over the stored ones. Keys the plugin does not read
  // (database_plugin::config_keys) are dropped with a warning instead of being stored.
  nlohmann::json details = nlohmann::json::object();
};

// A pre-existing database account whose password the broker rotates (Vault's static-roles).
struct static_role {
  std::string name;
  std::string db_name;
  std::string username;
  std::vector<std::string> rotation_statements;
  std::string credential_type = "password";
  nlohmann::json credential_config = nlohmann::json::object();
  secret password;  // the current password (stored through the barrier; returned by static-creds)
  rotation_state rotation;
};

// A static-roles write as the API received it: unset optionals keep the stored values on update.
struct static_role_update {
  std::string name;
  std::optional<std::string> db_name;
  std::optional<std::string> username;
  std::optional<std::chrono::seconds> rotation_period;
  std::optional<std::string> rotation_schedule;
  std::optional<std::chrono::seconds> rotation_window;
  std::optional<std::vector<std::string>> rotation_statements;
  std::optional<std::string> credential_type;
  std::optional<nlohmann::json> credential_config;
  // On create only (an update is invalid_request): do not rotate now; the default is the connection's
  // skip_static_role_import_rotation. `password` is then the account's current one, kept until the
  // first rotation (without it static-creds answers an empty password until then).
  std::optional<bool> skip_import_rotation;
  std::optional<secret> password;
};

struct role {
  std::string name;
  std::string db_name;
  std::chrono::seconds default_ttl{0};
  std::chrono::seconds max_ttl{0};
  std::vector<std::string> creation_statements;
  std::vector<std::string> revocation_statements;
  std::vector<std::string> rollback_statements;
  std::vector<std::string> renew_statements;
  std::string credential_type = "password";
  nlohmann::json credential_config = nlohmann::json::object();
};

struct caller_info {
  std::string display_name = "token";  // feeds username templates
  std::string token_accessor;          // revoking that token revokes the lease
};

// What a reconciliation found on one connection (GET <mount>/reconcile/:name, and the periodic check).
struct reconcile_report {
  struct node_report {
    std::string node;                       // "host:port"
    std::size_t users = 0;                  // users on the node with the broker's prefix
    std::vector<std::string> leases_without_user;  // active leases whose user is gone from this node
    std::vector<std::string> users_without_lease;  // broker-prefixed users no lease knows
  };
  std::string connection;
  std::string prefix;        // the broker's usernames start with it
  std::size_t leases = 0;    // active leases of the connection compared
  std::vector<node_report> nodes;
  bool clean() const;
};

struct issued_creds {
  std::string lease_id;
  std::string username;
  secret password;
  std::chrono::seconds ttl{0};
  std::vector<std::string> warnings;
};

// Vault's StrListContainsGlob: '*' anywhere in an entry matches any run of characters.
bool glob_match(std::string_view pattern, std::string_view s);

// The password policy of a role or static role: its credential_config's password_policy, else the
// connection's ("" = the default generator).
std::string role_password_policy(const connection_config& c, const nlohmann::json& credential_config);

}  // namespace credbroker::engine
