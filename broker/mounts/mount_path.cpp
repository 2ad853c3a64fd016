#include "broker/mounts/mount_path.hpp"

namespace credbroker::mounts {

std::string normalise_mount_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (!p.empty() && p.back() != '/') p += '/';
  return p;
}

result<std::string> checked_method_path(std::string path) {
  path = normalise_mount_path(std::move(path));
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '/';
    if (!ok) return make_error(errc::invalid_request, "invalid path \"" + path + "\"");
  }
  return path;
}

result<std::string> checked_mount_path(std::string path) {
  path = normalise_mount_path(std::move(path));
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  for (const char* r : {"sys/", "auth/", "cubbyhole/", "identity/"}) {
    if (path.rfind(r, 0) == 0) return make_error(errc::invalid_request, "cannot mount under a reserved path: " + path);
  }
  return checked_method_path(std::move(path));
}

}  // namespace credbroker::mounts
