#pragma once
// Parameter constraints on a policy's path rule, as Vault's (vault/policy.go, vault/acl.go):
//
//   path "database/roles/*" {
//     capabilities        = ["create", "update"]
//     allowed_parameters  = { "db_name" = ["dev-*"], "default_ttl" = [], "*" = [] }
//     denied_parameters   = { "creation_statements" = [] }
//     required_parameters = ["db_name"]
//   }
//
// Spec (checked for read, create, update and patch only; list and delete never look at data):
//   1. every required parameter (looked up lower-cased) must be present, or the request is denied;
//   2. a request without data is then allowed;
//   3. denied_parameters: a "*" key denies any request with data; a parameter whose lower-cased
//      name is a key is denied when its value is in that key's list (an empty list: any value);
//   4. allowed_parameters (when there are any): "*" alone allows everything; otherwise every
//      parameter must be a key (or "*" be there too), and its value in that key's list (empty: any).
// Denied beats allowed: step 3 runs first. A value is "in a list" when it equals an element (JSON
// equality; numbers compare by value), when a string element with a leading and/or trailing '*'
// globs it ("dev-*" prefix, "*-dev" suffix, "*dev*" contains), when it is a list and all (allowed)
// or any (denied) of its elements are in the list, or when it is a string whose comma-separated,
// trimmed items all (allowed) or any (denied) are — Vault cannot tell a comma-string field from a
// plain one, and so cannot we. Example: allowed {"policies" = ["dev", "qa"]} allows
// policies="dev,qa" and ["qa"], and refuses "dev,prod".
//
// Merging two rules for the same path (across policies, or repeated in one): for allowed and denied
// keys present in both, an empty list on either side makes the merged list empty (any value),
// otherwise the lists are concatenated; keys on one side only are kept; required parameters are
// unioned. A rule without constraints adds none: a path allowed with constraints by one policy and
// without by another keeps the constraints, as in Vault.
// Invariant: immutable once its acl is built.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/hcl.hpp"
#include "broker/core/result.hpp"

namespace credbroker::auth {

struct parameter_rules {
  std::map<std::string, std::vector<nlohmann::json>> allowed;  // keys lower-cased
  std::map<std::string, std::vector<nlohmann::json>> denied;   // keys lower-cased
  std::vector<std::string> required;                           // as written

  bool empty() const { return allowed.empty() && denied.empty() && required.empty(); }
  // Merges `more` into this one with Vault's rules (see above).
  void merge(const parameter_rules& more);
  // Steps 1-4 for a request's data (a JSON object: the body, or the query of a read).
  bool allow(const nlohmann::json& data) const;
};

// Parses the value of allowed_parameters / denied_parameters (an object whose values are lists; a
// lone value counts as a list of one) into `out`. Errors name the position and the path.
status parse_parameter_map(const hcl::value& v, const std::string& key, const std::string& path,
                           std::map<std::string, std::vector<nlohmann::json>>& out);
// Parses required_parameters: a list of strings (a lone string counts as a list of one).
status parse_required_parameters(const hcl::value& v, const std::string& path, std::vector<std::string>& out);

}  // namespace credbroker::auth
