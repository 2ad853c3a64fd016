#pragma once
// policy_store: named ACL policies kept in storage (through the barrier) and the ACLs they compile to.
//
//   sys/policy/<name>   the policy text as written (HCL or JSON)
//
// Names are lower-cased, as Vault does. "root" is built in and immutable; "default" is written on
// first unseal (ensure_default) and may be edited but not deleted. Compiled ACLs are cached per set
// of policy names and dropped whenever a policy changes or the barrier seals (clear_cache).
// Thread: all methods are safe concurrently.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/auth/policy.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::auth {

class policy_store {
 public:
  explicit policy_store(storage::physical& store) : store_(store) {}

  // Parses before storing: a policy that does not parse is refused with the parser's message
  // ("failed to parse policy: line 2, column 5: ..."). "root" cannot be written.
  status put(const std::string& name, std::string_view text);
  // nullopt when no such policy. "root" yields an empty policy named root.
  result<std::optional<std::shared_ptr<const policy>>> get(const std::string& name);
  // Idempotent; "root" and "default" cannot be deleted.
  status remove(const std::string& name);
  // Every policy name, "root" included, sorted.
  result<std::vector<std::string>> list();
  // Writes the built-in default policy if it is missing.
  status ensure_default();
  // The ACL of a token holding these policies; names without a stored policy grant nothing.
  result<std::shared_ptr<const acl>> acl_for(const std::vector<std::string>& names);
  void clear_cache();

  static std::string normalise(std::string name);

 private:
  storage::physical& store_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const policy>> policies_;  // parsed, by name
  std::map<std::string, std::shared_ptr<const acl>> acls_;         // by "a,b,c"
  std::uint64_t generation_ = 0;  // bumped by every change; a stale compile is not cached
};

}  // namespace credbroker::auth
