#pragma once
// role_store: a mount's dynamic roles (role/<name>, cached: record_cache.hpp) — Vault's
// roles/:name.
//
// A write checks db_name (required), that no static role has the name ("Role and Static Role names
// must be unique"), the credential_type (password, rsa_private_key, client_certificate; empty =
// password), drops blank statements, and answers the connection's plugin's warnings about the
// role's password policy. default_ttl > max_ttl is stored as given, as Vault: issuance and renewals
// cap the TTL at max_ttl.
//
// Invariant: the cache holds what storage holds (every write and delete here updates it after its
// storage write).
//
// Example: write({.name = "app", .db_name = "pg", .creation_statements = {"CREATE ...", "  "}})
// stores one creation statement; read("app") afterwards makes no storage call.
//
// Thread: all methods are safe concurrently; the only lock is the cache's (a leaf).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/engine/connections.hpp"
#include "broker/engine/record_cache.hpp"
#include "broker/engine/records.hpp"
#include "broker/engine/static_role_store.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

class role_store {
 public:
  role_store(storage::physical& store, connections& conns, static_role_store& statics, const std::string& prefix);

  // The cached or stored role; null when absent.
  result<std::shared_ptr<const role>> find(const std::string& name) { return roles_.get(name); }
  result<std::optional<role>> read(const std::string& name);
  // Returns warnings. Errors (invalid_request): "database name is required", "Role and Static Role names must be
  // unique", "invalid credential_type \"x\"".
  result<std::vector<std::string>> write(role r);
  status remove(const std::string& name);
  result<std::vector<std::string>> list();
  // Forgets every cached role (the mount's data was deleted).
  void forget_all() { roles_.clear(); }

 private:
  connections& conns_;
  static_role_store& statics_;
  record_cache<role> roles_;
};

}  // namespace credbroker::engine
