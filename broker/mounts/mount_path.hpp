#pragma once
// mount_path: the paths of the mount tables. A mount path is normalised to no leading '/' and one
// trailing '/' ("database" -> "database/", "/team/db" -> "team/db/"); its characters are letters,
// digits and - _ . /. Two mounts may not nest: "db/" and "db/prod/" overlap, "db/" and "dbx/" do not.
// Secrets engines may not mount under sys/, auth/, cubbyhole/ or identity/ (Vault's reserved paths).
// Errors are errc::invalid_request with Vault's messages.
// Thread: pure functions.
#include <map>
#include <optional>
#include <string>

#include "broker/core/result.hpp"

namespace credbroker::mounts {

std::string normalise_mount_path(std::string path);
// Normalised; "path cannot be empty", "invalid path \"a b/\"".
result<std::string> checked_method_path(std::string path);
// checked_method_path, and "cannot mount under a reserved path: sys/x/".
result<std::string> checked_mount_path(std::string path);
// The existing path `path` overlaps with (either is a prefix of the other), if any.
template <class V>
std::optional<std::string> overlapping(const std::map<std::string, V>& mounted, const std::string& path) {
  for (const auto& [existing, _] : mounted) {
    if (path.rfind(existing, 0) == 0 || existing.rfind(path, 0) == 0) return existing;
  }
  return std::nullopt;
}
// The longest mounted path a request path falls under ("database/creds/x" -> "database/"; the mount
// itself without its slash counts), "" when none.
template <class V>
std::string longest_mount(const std::map<std::string, V>& mounted, const std::string& path) {
  std::string best;
  for (const auto& [p, _] : mounted) {
    if ((path.rfind(p, 0) == 0 || path + "/" == p) && p.size() > best.size()) best = p;
  }
  return best;
}

}  // namespace credbroker::mounts
