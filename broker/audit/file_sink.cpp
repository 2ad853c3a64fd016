#include "broker/audit/file_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace credbroker::audit {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

error os_error(const std::string& what, int err) {
  return make_error(errc::unavailable, what + ": " + std::strerror(err));
}

}  // namespace

result<std::unique_ptr<file_sink>> file_sink::open(const std::string& path, unsigned mode, bool lazy) {
  const std::string l = lower(path);
  if (l == "stdout") return std::unique_ptr<file_sink>(new file_sink(path, mode, target::stdout_stream));
  if (l == "discard") return std::unique_ptr<file_sink>(new file_sink(path, mode, target::discard));
  std::unique_ptr<file_sink> s(new file_sink(path, mode, target::file));
  std::unique_lock lock(s->fd_mu_);
  if (auto st = s->open_locked(); !st && !lazy) return std::move(st).err();
  lock.unlock();
  return s;
}

file_sink::~file_sink() {
  if (fd_ >= 0) ::close(fd_);
}

status file_sink::open_locked() {
  if (fd_ >= 0) return ok_v;
  const std::filesystem::path p(path_);
  if (p.has_parent_path()) {
    std::error_code ec;
    if (!std::filesystem::exists(p.parent_path(), ec)) {
      std::filesystem::create_directories(p.parent_path(), ec);
      if (ec) return make_error(errc::unavailable, "cannot create the directory of \"" + path_ + "\": " + ec.message());
      std::filesystem::permissions(p.parent_path(), std::filesystem::perms::owner_all, ec);
    }
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode_ == 0 ? 0600 : mode_);
  if (fd < 0) return os_error("cannot open \"" + path_ + "\" for appending", errno);
  struct stat st {};
  if (mode_ != 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) != mode_) {
    if (::fchmod(fd, mode_) != 0) {
      const int err = errno;
      ::close(fd);
      return os_error("cannot set the mode of \"" + path_ + "\"", err);
    }
  }
  fd_ = fd;
  ++opened_;
  return ok_v;
}

status file_sink::write_fd(int fd, std::string_view line) const {
  while (!line.empty()) {
    const ssize_t n = ::write(fd, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write to \"" + path_ + "\"", errno);
    }
    line.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_v;
}

status file_sink::write(std::string_view line) {
  if (target_ == target::discard) return ok_v;
  if (target_ == target::stdout_stream) return write_fd(STDOUT_FILENO, line);
  std::uint64_t seen = 0;
  {
    std::shared_lock lock(fd_mu_);
    seen = opened_;
    if (fd_ >= 0) {
      if (auto s = write_fd(fd_, line); s) return s;
    }
  }
  // The file is closed (a reopen failed) or the write failed: reopen once and write again.
  std::unique_lock lock(fd_mu_);
  if (opened_ == seen && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (auto s = open_locked(); !s) return s;
  return write_fd(fd_, line);
}

status file_sink::reopen() {
  if (target_ != target::file) return ok_v;
  std::unique_lock lock(fd_mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return open_locked();
}

}  // namespace credbroker::audit
