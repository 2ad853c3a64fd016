#pragma once
// Token roles (auth/token/roles/:name), as Vault's token store keeps them, and the policy rules of
// auth/token/create/:role (vault/token_store.go, handleCreateCommon).
//
// Storage (through the barrier): auth/token/roles/<name>  JSON of token_role.
//
// Policies of a token created against a role that names allowed or disallowed policies (exact or
// glob) — the role, not the parent, bounds them, so a role may grant what its caller lacks:
//   1. "default" is added unless no_default_policy (request or role's token_no_default_policy) or
//      the role disallows it (exactly or by glob);
//   2. the requested policies (sanitised, with default per 1), else the role's allowed_policies
//      (with default per 1), else — the role has no allowed lists — the parent's;
//   3. with allowed lists, every requested policy must be in allowed_policies or match an
//      allowed_policies_glob: else "token policies (...) must be subset of the role's allowed
//      policies (...) or glob policies (...)";
//   4. none may be in disallowed_policies or match disallowed_policies_glob: else
//      "token policy \"x\" is disallowed by this role".
// A role with no policy lists leaves the ordinary rules (a subset of the parent's, unless sudo).
// Example: role {allowed_policies: [dev], disallowed_policies_glob: [adm*]}; a caller holding only
// "default" asks for nothing -> [default dev]; asks for [admin] -> refused by step 3.
// Globs are Vault's (go-glob): '*' matches any run of characters, anywhere in the pattern.
// Thread: token_role_store is safe concurrently (every call is one storage operation).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::auth {

struct token_role {
  std::string name;
  std::vector<std::string> allowed_policies;
  std::vector<std::string> disallowed_policies;
  std::vector<std::string> allowed_policies_glob;
  std::vector<std::string> disallowed_policies_glob;
  bool orphan = false;
  bool renewable = true;
  std::string path_suffix;
  std::int64_t period = 0;                  // seconds; the legacy field, echoed on read
  std::int64_t token_period = 0;            // seconds; the one that applies
  std::int64_t explicit_max_ttl = 0;        // legacy, echoed on read
  std::int64_t token_explicit_max_ttl = 0;  // the one that applies
  std::string token_type = "default-service";
  std::vector<std::string> allowed_entity_aliases;
  bool token_no_default_policy = false;
  std::int64_t token_num_uses = 0;
  std::vector<std::string> token_bound_cidrs;  // tokens made against the role: usable only from these

  bool has_policy_lists() const {
    return !allowed_policies.empty() || !disallowed_policies.empty() || !allowed_policies_glob.empty() ||
           !disallowed_policies_glob.empty();
  }
};

std::string to_json(const token_role& r);
std::optional<token_role> token_role_from_json(std::string_view text);

// Vault's go-glob: '*' anywhere matches any (possibly empty) run of characters.
bool glob_match(std::string_view pattern, std::string_view value);

// Steps 1-4 above. requested: the caller's policies (empty: none asked); parent: the caller's token.
result<std::vector<std::string>> role_policies(const token_role& role, const std::vector<std::string>& requested,
                                               const std::vector<std::string>& parent, bool no_default_policy);

class token_role_store {
 public:
  explicit token_role_store(storage::physical& store) : store_(store) {}
  result<std::optional<token_role>> get(const std::string& name);
  status put(const token_role& r);
  status remove(const std::string& name);
  result<std::vector<std::string>> list();

  static constexpr const char* prefix = "auth/token/roles/";

 private:
  storage::physical& store_;
};

}  // namespace credbroker::auth
