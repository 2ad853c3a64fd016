#pragma once
// Error codes that cross component boundaries, in credbroker's own std::error_category. Each names
// what went wrong in the broker's terms; api/message.cpp alone maps them to Vault's HTTP statuses.
#include <string>
#include <system_error>

namespace credbroker {

enum class errc {
  ok = 0,
  invalid_request,        // the caller's input is wrong (a value, a missing field, a bad template)
  permission_denied,      // no token, an unknown or expired one, or the ACL refuses the path
  not_found,              // the thing asked for does not exist
  unsupported_path,       // no route under an existing mount
  unsupported_operation,  // the route exists, the verb does not
  sealed,                 // the barrier is sealed
  not_initialized,        // the storage was never initialised
  storage_failure,        // the backend could not read or write
  integrity_failure,      // a stored value failed authentication
  unavailable,            // a dependency (a database, a peer) is unreachable or timed out
  internal,               // a bug or unexpected condition
  role_not_allowed,       // the role exists, but its connection's allowed_roles does not name it
  lease_not_found,        // no lease has that id (never issued, or revoked and forgotten)
};

const std::error_category& credbroker_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), credbroker_category()};
}

}  // namespace credbroker

template <>
struct std::is_error_code_enum<credbroker::errc> : std::true_type {};
