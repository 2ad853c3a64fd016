#pragma once
// Error codes that cross component boundaries, in credbroker's own std::error_category.
// Each code maps to one HTTP status in api/ (see api/wire.cpp); below api nothing knows HTTP.
#include <string>
#include <system_error>

namespace credbroker {

enum class errc {
  ok = 0,
  invalid_request,        // caller's input is wrong (400)
  permission_denied,      // missing/invalid token or ACL denial (403)
  not_found,              // the thing asked for does not exist (404)
  unsupported_path,       // no route under an existing mount (404)
  unsupported_operation,  // route exists, verb does not (405)
  sealed,                 // barrier sealed (503)
  not_initialized,        // storage never initialised (501 on health, 400 elsewhere)
  storage_failure,        // backend could not read/write (500)
  integrity_failure,      // stored value failed authentication (500)
  unavailable,            // dependency (database) unreachable or timed out (503/500)
  internal,               // a bug or unexpected condition (500)
};

const std::error_category& credbroker_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), credbroker_category()};
}

}  // namespace credbroker

template <>
struct std::is_error_code_enum<credbroker::errc> : std::true_type {};
