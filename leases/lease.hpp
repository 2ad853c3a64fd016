#pragma once
// lease: everything needed to renew or revoke a credential without its role (the role may be gone).
// Stored at "sys/expire/id/<lease id>" through the barrier, as JSON; lease ids are
// "<mount>/creds/<role>/<24 alphanumerics>", so storage lists give Vault's lookup folders.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"

namespace credbroker::leases {

enum class lease_state {
  pending,      // durable before the database user is created; resolved at start-up
  active,       // the user exists; revoked at expire_time
  revoking,     // revocation failed at least once; retried with backoff
  irrevocable,  // attempts exhausted; still listed and retried on a slow schedule
};
const char* to_string(lease_state s);

struct lease {
  std::string id;
  std::string connection;  // config name the user lives in
  std::string role;
  std::string username;
  std::vector<std::string> revocation_statements;
  std::vector<std::string> renew_statements;
  std::chrono::seconds role_ttl{0};      // the role's default_ttl and max_ttl when issued,
  std::chrono::seconds role_max_ttl{0};  // for renew maths after the role is deleted
  time_point issue_time{};
  time_point expire_time{};
  time_point last_renewal{};  // epoch: never renewed
  bool renewable = true;
  std::string token_accessor;  // the token that created it: revoking the token revokes this
  lease_state state = lease_state::pending;
  // While the creation may be in doubt (pending, and revocations of a pending lease): the boot id of
  // the broker process that wrote it (plugin/boot_id.hpp), so a later process ends that process's
  // database sessions before it trusts user_exists. Cleared once the user is known to exist.
  std::string boot;
  int attempts = 0;
  std::string last_error;  // sanitised plugin error of the last failed revocation
  time_point next_attempt{};
  // Not stored: set by the lease manager for a revocation attempt (lease_manager.hpp, "Inherited
  // leases"). True when the lease was issued before this process's current term as the active node,
  // so an earlier process may have revoked it already, or may still be revoking it.
  bool inherited = false;
};

inline const std::string lease_storage_prefix = "sys/expire/id/";

// The 24 alphanumerics that end a lease id, as Vault's: here 8 base62 digits of the issue time in
// milliseconds, then 16 random ones (95 bits: unguessable). Base62 in ASCII order sorts like the
// number, so new leases are stored at the end of their key range and share B-tree pages instead of
// each rewriting a random page of the store (3-4x fewer pages written per issuance).
//   issue time 1 800 000 000 000 ms -> "0VgmOYqW" + "k3J9xQ0aZ7mT2pLb"
std::string new_lease_suffix(time_point issued);
// sys/expire/token/<token accessor>/<lease id> -> "": the leases a token created, so revoking the
// token finds them without a scan. Written with the lease; removed when the lease is revoked.
inline const std::string lease_token_index_prefix = "sys/expire/token/";

// Record format: a one-line header with what scheduling needs, then the JSON document:
//   "L1 <state> <due unix ms>\n{...}"      e.g. "L1 a 1800000003600000\n{\"id\":...}"
// so restoring a million leases reads the header only and never parses JSON.
std::string encode(const lease& l);
result<lease> decode(std::string_view text);

struct schedule_header {
  lease_state state;
  time_point due;  // expire_time, or next_attempt for revoking/irrevocable leases
};
std::optional<schedule_header> peek_schedule(std::string_view text);

}  // namespace credbroker::leases
