#include "broker/barrier/unseal_key_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "broker/barrier/seal_manager.hpp"
#include "broker/core/encoding.hpp"

namespace credbroker::barrier {
namespace {

std::string os_error() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

status fsync_directory(const std::string& path) {
  const std::string dir = directory_of(path);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(errc::storage_failure, "cannot open directory \"" + dir + "\": " + os_error());
  const int rc = ::fsync(fd);
  const std::string why = rc == 0 ? "" : os_error();
  ::close(fd);
  if (rc != 0) return make_error(errc::storage_failure, "cannot fsync directory \"" + dir + "\": " + why);
  return ok_v;
}

// Unseals with `keys` in order until the barrier opens.
status unseal_with(seal_manager& seal, const std::vector<secret>& keys, const std::string& path) {
  for (const auto& key : keys) {
    auto r = seal.unseal(key);
    if (!r) {
      const auto code = r.err().code == make_error_code(errc::integrity_failure) ? errc::integrity_failure
                                                                                  : errc::permission_denied;
      return make_error(code, "auto-unseal from \"" + path + "\" failed: " + r.err().message);
    }
    if (!r->sealed) return ok_v;
  }
  return make_error(errc::permission_denied, "unseal_key_file \"" + path + "\" holds fewer keys than the threshold (" +
                                                 std::to_string(seal.status().threshold) + ")");
}

}  // namespace

result<std::vector<secret>> unseal_key_file::read(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(errc::invalid_request, "unseal_key_file \"" + path + "\": cannot read it");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(errc::invalid_request, "unseal_key_file \"" + path + "\" is readable by group or others (mode " +
                                                 mode + "): run chmod 600 on it");
  }
  std::ifstream in(path);
  if (!in) return make_error(errc::invalid_request, "unseal_key_file \"" + path + "\": cannot read it");
  std::vector<secret> keys;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    auto raw = decode_key(line);
    std::fill(line.begin(), line.end(), '\0');
    if (!raw) return make_error(errc::invalid_request, "unseal_key_file \"" + path + "\": a line is not a hex or base64 key");
    keys.emplace_back(std::move(*raw));
  }
  return keys;
}

status unseal_key_file::stage(const std::vector<secret>& keys) const {
  const std::string target = staged_path();
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::storage_failure, "cannot write \"" + target + "\": " + os_error());
  std::string text;
  for (const auto& k : keys) text += hex_encode(k.reveal()) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? "" : os_error();
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!ok) {
    ::unlink(target.c_str());
    return make_error(errc::storage_failure, "cannot write \"" + target + "\": " + why);
  }
  return fsync_directory(target);
}

status unseal_key_file::promote() const {
  if (::rename(staged_path().c_str(), path_.c_str()) != 0) {
    return make_error(errc::storage_failure, "cannot rename \"" + staged_path() + "\" to \"" + path_ + "\": " + os_error());
  }
  return fsync_directory(path_);
}

status unseal_key_file::discard() const {
  if (::unlink(staged_path().c_str()) != 0 && errno != ENOENT) {
    return make_error(errc::storage_failure, "cannot remove \"" + staged_path() + "\": " + os_error());
  }
  return fsync_directory(path_);
}

bool unseal_key_file::staged() const {
  struct stat st {};
  return ::stat(staged_path().c_str(), &st) == 0;
}

status auto_unseal(seal_manager& seal, const unseal_key_file& file, bool fresh_store) {
  const std::string& path = file.path();
  auto keys = unseal_key_file::read(path);
  if (!keys) return std::move(keys).err();
  const auto status_now = seal.status();
  if (!status_now.initialized) {
    if (keys->empty()) {
      spdlog::warn("unseal_key_file is set but storage is not initialised yet: nothing to unseal");
      return ok_v;
    }
    if (!fresh_store) {
      return make_error(errc::integrity_failure,
                        "unseal_key_file \"" + path + "\" holds unseal keys, but the store is not initialised (no "
                        "core/seal-config): the store those keys open was replaced or emptied. Restore the data "
                        "directory from a backup; or, to begin a new store, start the server with -fresh-store "
                        "(and empty the key file)");
    }
    spdlog::warn("unseal_key_file holds keys of a store that is gone; starting uninitialised because -fresh-store "
                 "was given: initialise the new store and replace the keys in \"{}\"", path);
    return ok_v;
  }
  auto opened = unseal_with(seal, *keys, path);
  if (opened) {
    if (file.staged()) {
      spdlog::warn("removing \"{}\": the keys of a rekey that did not complete (the keys in \"{}\" still open the "
                   "store)", file.staged_path(), path);
      if (auto s = file.discard(); !s) spdlog::error("{}", s.err().message);
    }
    spdlog::info("unsealed with the keys in unseal_key_file");
    return ok_v;
  }
  if (opened.err().code == make_error_code(errc::integrity_failure) || !file.staged()) return opened;
  // The store may have switched to the keys of a rekey that a crash interrupted before the key
  // file was replaced.
  seal.reset();
  auto staged = unseal_key_file::read(file.staged_path());
  if (!staged) return std::move(staged).err();
  if (auto s = unseal_with(seal, *staged, file.staged_path()); !s) {
    seal.reset();
    return error{s.err().code, opened.err().message + "; and the keys of the interrupted rekey in \"" +
                                        file.staged_path() + "\" do not open it either: " + s.err().message};
  }
  spdlog::warn("unsealed with the keys in \"{}\": a rekey had switched the store to them when the server stopped; "
               "they replace \"{}\" now", file.staged_path(), path);
  if (auto s = file.promote(); !s) {
    spdlog::error("{} (the next start tries \"{}\" again)", s.err().message, file.staged_path());
  }
  return ok_v;
}

}  // namespace credbroker::barrier
