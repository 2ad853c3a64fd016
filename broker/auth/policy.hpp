#pragma once
// ACL policies in Vault's syntax, and the ACL a set of policies compiles to.
//
// A policy is a list of path rules:
//   path "database/creds/app"  { capabilities = ["read"] }           exact path
//   path "database/creds/*"    { capabilities = ["read"] }           prefix glob: '*' only at the end
//   path "database/+/app"      { capabilities = ["read", "list"] }   '+' matches one whole segment
//   path "secret/*"            { policy = "write" }                   legacy shorthand
// Capabilities: create read update delete list patch sudo deny. Legacy shorthands: deny, read
// (read+list), write (read+list+create+update+delete+patch), sudo (write+sudo).
// A rule may also bound response wrapping, as Vault's: min_wrapping_ttl / max_wrapping_ttl
// (durations) make a request on the path allowed only with an X-Vault-Wrap-TTL inside the bounds;
// "max_wrapping_ttl cannot be less than min_wrapping_ttl" is refused at parse time.
//
// acl: the union of several policies, answering "may this operation touch this path?" as Vault does:
//   1. Rules with the same path text are merged across policies: capabilities are unioned, and a
//      `deny` in any of them makes the merged rule deny-only (deny wins).
//   2. An exact rule for the path wins (for a list, the path without its trailing '/' too).
//   3. Otherwise the most specific of the matching glob and '+' rules wins, compared in order:
//      later first wildcard, then not ending in '*', then fewer '+' segments, then longer, then
//      lexically greater. Example: for "database/creds/app",
//         "database/creds/*" (first wildcard at 15)  beats  "database/+/app" (first wildcard at 9).
//   4. No rule matches -> denied (deny by default). The "root" policy allows everything.
//   5. The winning rule's parameter constraints (allowed_parameters, denied_parameters,
//      required_parameters; policy_parameters.hpp) judge the request's data for read, create,
//      update and patch. A deny merged into a rule drops its allowed and denied parameters.
//   Wrapping bounds merge as Vault's: of two rules' min (or max) bounds the lesser non-zero one wins;
//   the winning rule's bounds come back in acl_decision, and the API refuses a request outside them
//   (no wrap TTL at all is outside any bound) with "permission denied".
// Invariant: an acl is immutable once built; share it freely between threads.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/auth/policy_parameters.hpp"
#include "broker/core/result.hpp"

namespace credbroker::auth {

enum capability : std::uint32_t {
  cap_deny = 1u << 0,
  cap_create = 1u << 1,
  cap_read = 1u << 2,
  cap_update = 1u << 3,
  cap_delete = 1u << 4,
  cap_list = 1u << 5,
  cap_sudo = 1u << 6,
  cap_patch = 1u << 7,
};
// Capability names in Vault's order ("create", "read", ...); {"deny"} for 0 or deny.
std::vector<std::string> capability_names(std::uint32_t caps);

struct path_rule {
  std::string path;       // as written, leading '/' removed
  std::uint32_t caps = 0;
  parameter_rules params;
  std::int64_t min_wrapping_ttl = 0;  // seconds; 0 = no bound
  std::int64_t max_wrapping_ttl = 0;
};

struct policy {
  std::string name;
  std::string raw;  // the text it was parsed from
  std::vector<path_rule> rules;
};

// Parses HCL or JSON. Errors name the line and column (HCL) and the offending key or value, e.g.
//   line 3, column 19: invalid capability "raed" for path "database/creds/app"
result<policy> parse_policy(std::string name, std::string_view text);

// The operations an ACL is asked about (mirrors Vault's logical operations).
enum class acl_operation { read, list, create, update, remove, patch };

struct acl_decision {
  bool allowed = false;
  bool sudo = false;  // the matching rule grants sudo (root paths need it)
  bool root = false;
  std::int64_t min_wrapping_ttl = 0;  // seconds, of the winning rule; 0 = no bound
  std::int64_t max_wrapping_ttl = 0;
};

class acl {
 public:
  // Policies named "root" make a root ACL; other policies' rules are merged.
  explicit acl(const std::vector<std::shared_ptr<const policy>>& policies);

  // data: the request's parameters (a JSON object), judged by the winning rule's constraints.
  acl_decision check(acl_operation op, std::string_view path,
                     const nlohmann::json& data = nlohmann::json::object()) const;
  // The merged capabilities that apply to path (for sys/capabilities); root -> all.
  std::uint32_t capabilities(std::string_view path) const;
  bool is_root() const { return root_; }

 private:
  struct glob_rule {
    std::string path;  // without the trailing '*'
    bool prefix = false;
    std::size_t first_wildcard = 0;  // index of the first '+' or the trailing '*'
    std::size_t wildcard_segments = 0;
    bool has_plus = false;
    path_rule perms;
  };
  // The winning rule for path; nullptr when none matches.
  const path_rule* lookup(std::string_view path, bool list) const;
  static bool glob_matches(const glob_rule& r, std::string_view path);

  bool root_ = false;
  std::unordered_map<std::string, path_rule> exact_;
  std::vector<glob_rule> globs_;
};

// The built-in "default" policy every token gets unless created with no_default_policy.
std::string_view default_policy_text();

}  // namespace credbroker::auth
