#pragma once
// approle: Vault's AppRole auth method. A machine logs in with a role_id (like a user name) and a
// secret_id (like a password, issued per instance) and receives an orphan service token carrying
// the role's token_policies.
//
// Storage, under the mount's prefix (e.g. "auth/method/<mount uuid>/"):
//   role/<name>                         the role (JSON)
//   role-id/<hmac(role_id)>             <name>
//   secret-id/<name>/<hmac(secret_id)>  {accessor, creation_time, expiration_time, num_uses, metadata}
//   accessor/<hmac(accessor)>           "<name>/<hmac(secret_id)>"
// Role IDs, secret IDs and secret-ID accessors are stored only as salted HMACs (the token store's
// salt, with "role-id:", "secret-id:" and "secret-id-accessor:" in front), so no value a client
// holds is a storage key in clear.
//
// CIDR bindings (Vault's path_role.go and path_login.go): a role's secret_id_bound_cidrs and
// token_bound_cidrs, a secret ID's cidr_list and token_bound_cidrs; blocks are validated when
// written (invalid_request "failed to validate CIDR blocks: invalid CIDR address: x"; token_bound_cidrs also take
// bare addresses), and a secret ID's must lie inside its role's. A login from outside them is invalid_request
// "source address \"a\" unauthorized by CIDR restrictions on the role" (or "... on the secret ID").
//
// Contracts: every method is idempotent where Vault's is (destroy of an unknown secret ID is a
// success); errors are errc::invalid_request with Vault's texts ("invalid role or secret ID",
// "missing role_id", "missing secret_id", "role \"x\" does not exist" ...). Logins spend one use of
// the secret ID durably before the token is issued, so a crash never grants an extra use.
// Thread: all methods are safe concurrently.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/auth/token_store.hpp"

namespace credbroker::auth {

struct approle_role {
  std::string name;
  std::string role_id;
  bool bind_secret_id = true;
  std::vector<std::string> secret_id_bound_cidrs;
  std::vector<std::string> token_bound_cidrs;
  std::int64_t secret_id_num_uses = 0;
  std::int64_t secret_id_ttl = 0;
  std::vector<std::string> token_policies;
  std::int64_t token_ttl = 0;
  std::int64_t token_max_ttl = 0;
  std::int64_t token_explicit_max_ttl = 0;
  std::int64_t token_num_uses = 0;
  std::int64_t token_period = 0;
  bool token_no_default_policy = false;
  std::string token_type = "default";
};

struct secret_id_info {
  std::string accessor;
  std::int64_t creation_time = 0;
  std::int64_t expiration_time = 0;  // 0 = never
  std::int64_t last_updated_time = 0;
  std::int64_t num_uses = 0;         // uses left; 0 = unlimited
  std::int64_t ttl = 0;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> cidr_list;          // logins only from these blocks (within the role's)
  std::vector<std::string> token_bound_cidrs;  // overrides the role's for the tokens it logs in
};

// A secret ID's own CIDR bindings (secret-id and custom-secret-id's cidr_list, token_bound_cidrs).
struct secret_id_bindings {
  std::vector<std::string> cidr_list;
  std::vector<std::string> token_bound_cidrs;
};

struct issued_secret_id {
  secret secret_id;
  secret_id_info info;
};

class approle_backend {
 public:
  approle_backend(storage::physical& store, token_store& tokens, const clock& clk, std::string prefix,
                  std::string mount)
      : store_(store), tokens_(tokens), clock_(clk), prefix_(std::move(prefix)), mount_(std::move(mount)) {}

  result<std::optional<approle_role>> read_role(const std::string& name);
  // Creates or replaces; a new role gets a random role_id. Validation errors name the field.
  status write_role(approle_role role);
  status delete_role(const std::string& name);
  result<std::vector<std::string>> list_roles();
  status set_role_id(const std::string& name, const std::string& role_id);

  // ttl/num_uses 0 -> the role's secret_id_ttl/secret_id_num_uses. custom: a caller-chosen value.
  result<issued_secret_id> create_secret_id(const std::string& name, std::map<std::string, std::string> metadata,
                                            std::optional<std::chrono::seconds> ttl,
                                            std::optional<std::int64_t> num_uses,
                                            std::optional<std::string> custom = std::nullopt,
                                            secret_id_bindings bindings = {});
  result<std::optional<secret_id_info>> lookup_secret_id(const std::string& name, const secret& secret_id);
  result<std::optional<secret_id_info>> lookup_secret_id_accessor(const std::string& name, const std::string& accessor);
  status destroy_secret_id(const std::string& name, const secret& secret_id);
  status destroy_secret_id_accessor(const std::string& name, const std::string& accessor);
  result<std::vector<std::string>> list_secret_id_accessors(const std::string& name);

  // The whole login: role_id -> role, secret_id checked, the client address checked against the
  // secret ID's cidr_list and the role's secret_id_bound_cidrs (before the use is spent), the use
  // spent, token issued (bound to the secret ID's token_bound_cidrs, else the role's).
  // client_address: the request's client IP ("" unknown: refused by any CIDR binding).
  result<issued_token> login(const std::string& role_id, const secret& secret_id, std::string_view client_address = "");

  // tidy/secret-id: deletes every expired secret ID of every role and its accessor entry, and
  // accessor entries whose secret ID is gone. Returns how many secret IDs went.
  result<std::size_t> tidy_secret_ids();

  // Deletes everything under the prefix (mount disabled).
  status destroy_all();

  // Storage layout 1 named the accessor index after the accessors in clear; this renames it to
  // their HMACs in every AppRole mount under mounts_prefix ("auth/method/" holds one folder per
  // mount). Idempotent and safe to cut at any point (storage/rename.hpp); run at unseal.
  static status salt_accessor_keys(storage::physical& store, const token_store& tokens, const std::string& mounts_prefix);

 private:
  std::int64_t now_seconds() const;
  status delete_secret(const std::string& name, const std::string& hmac, const std::string& accessor);
  result<std::string> accessor_path(const std::string& accessor) const;

  storage::physical& store_;
  token_store& tokens_;
  const clock& clock_;
  std::string prefix_;
  std::string mount_;
  std::mutex login_mu_;  // serialises secret-ID use counting
};

std::string to_json(const approle_role& r);
std::optional<approle_role> approle_role_from_json(std::string_view text);

}  // namespace credbroker::auth
