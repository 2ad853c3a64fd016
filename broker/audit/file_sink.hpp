#pragma once
// file_sink: the "file" device's output — an append-only file, standard output, or nothing.
//
//   file_path "stdout"  (any case) lines go to the process's standard output
//   file_path "discard" (any case) lines are dropped (and count as recorded)
//   any other path      opened O_WRONLY|O_APPEND|O_CREAT with `mode` (default 0600; 0 keeps the
//                       mode of an existing file); missing parent directories are made 0700
//
// Each line is one write(2) of the whole formatted entry on an O_APPEND descriptor, so concurrent
// lines never interleave and no user-space buffer can lose an acknowledged entry; there is no
// fsync (the page cache holds the line until the kernel writes it back, as with Vault).
// On a failed write the file is reopened once and the line written again (Vault's behaviour); a
// file that cannot be opened is retried on every later write, so the device recovers by itself
// once the path is writable again.
// reopen() (SIGHUP) closes the descriptor and opens the path again: after `mv audit.log
// audit.log.1`, new lines go to a new audit.log. The mode is applied (fchmod) only to regular files.
// Thread: writers share fd_mu_ (write(2) on O_APPEND is atomic per call); reopen takes it alone.
#include <cstdint>
#include <shared_mutex>
#include <string>

#include "broker/audit/sink.hpp"

namespace credbroker::audit {

class file_sink final : public sink {
 public:
  // Opens the file now: enabling a device on an unwritable path fails at once. With lazy (a device
  // re-made at unseal), a file that cannot be opened yet is retried on every write instead.
  static result<std::unique_ptr<file_sink>> open(const std::string& path, unsigned mode, bool lazy = false);
  ~file_sink() override;

  bool direct() const override { return true; }
  status write(std::string_view line) override;
  status reopen() override;

 private:
  enum class target { file, stdout_stream, discard };
  file_sink(std::string path, unsigned mode, target t) : path_(std::move(path)), mode_(mode), target_(t) {}
  // Opens path_ into fd_ (caller holds fd_mu_ exclusively).
  status open_locked();
  status write_fd(int fd, std::string_view line) const;

  const std::string path_;
  const unsigned mode_;
  const target target_;
  std::shared_mutex fd_mu_;  // guards fd_ and opened_
  int fd_ = -1;
  std::uint64_t opened_ = 0;  // how many times fd_ was opened: a failed writer reopens only the fd it saw
};

}  // namespace credbroker::audit
