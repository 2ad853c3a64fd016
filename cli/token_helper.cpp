#include "cli/token_helper.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace credbroker::cli {
namespace {

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  const auto end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

status write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(errc::internal, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return ok_v;
}

}  // namespace

result<std::string> token_file_path() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return make_error(errc::invalid_request, "cannot find the home directory: HOME is not set");
  return std::string(home) + "/.vault-token";
}

std::optional<secret> read_stored_token() {
  auto path = token_file_path();
  if (!path) return std::nullopt;
  std::ifstream in(*path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = trim(text.str());
  if (token.empty()) return std::nullopt;
  return secret(std::move(token));
}

status store_token(const secret& token) {
  auto path = token_file_path();
  if (!path) return std::move(path).err();
  const std::string tmp = *path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::internal, "cannot create " + tmp + ": " + std::strerror(errno));
  auto written = write_all(fd, token.reveal());
  if (written && ::fsync(fd) != 0) written = make_error(errc::internal, std::strerror(errno));
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return make_error(errc::internal, "cannot write " + tmp + ": " + written.err().message);
  }
  if (::rename(tmp.c_str(), path->c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error(errc::internal, "cannot replace " + *path + ": " + why);
  }
  return ok_v;
}

status erase_stored_token() {
  auto path = token_file_path();
  if (!path) return std::move(path).err();
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
    return make_error(errc::internal, "cannot remove " + *path + ": " + std::strerror(errno));
  }
  return ok_v;
}

}  // namespace credbroker::cli
