#pragma once
// sink: where a device's lines go. Two kinds:
//   direct  (file, stdout, discard) write() returns once the bytes are handed to the kernel
//           (write(2) returned; no fsync — Vault does not fsync its audit file either);
//   queued  (socket) submit() hands the line to the sink's own writer thread and returns at once;
//           the caller may wait() for the outcome, which comes within the sink's write timeout.
// The audit broker (audit_broker.hpp) waits on a queued sink only when no direct sink recorded the
// entry, so a slow socket never holds up requests while a file device works.
//
// A line is "recorded" once the sink handed it to the operating system: for a socket, the peer may
// still lose it (as with Vault).
// Thread: every method may be called concurrently from any thread.
#include <memory>
#include <string>
#include <string_view>

#include "broker/core/result.hpp"

namespace credbroker::audit {

// The outcome of a submitted line.
class pending_write {
 public:
  virtual ~pending_write() = default;
  // Blocks until the line is recorded (true) or failed or timed out (false).
  virtual bool wait() = 0;
};

class sink {
 public:
  virtual ~sink() = default;
  // direct sinks: true.
  virtual bool direct() const = 0;
  // Records one line (with its "\n"). Errors: errc::unavailable with the OS's reason.
  virtual status write(std::string_view line) = 0;
  // Queues one line; the default (direct sinks) writes it now.
  virtual std::shared_ptr<pending_write> submit(std::string line);
  // Reopens the target: a file is closed and opened again by name (after logrotate moved it), a
  // socket is reconnected. A failure leaves the sink retrying on the next write.
  virtual status reopen() = 0;
};

// A sink that records nothing: stands for a device that cannot work (options no longer valid,
// an unreadable audit table), so that the fail-closed rule still refuses requests.
class failing_sink final : public sink {
 public:
  explicit failing_sink(std::string reason) : reason_(std::move(reason)) {}
  bool direct() const override { return true; }
  status write(std::string_view) override { return make_error(errc::unavailable, reason_); }
  status reopen() override { return make_error(errc::unavailable, reason_); }

 private:
  std::string reason_;
};

// A pending_write that already has its outcome.
std::shared_ptr<pending_write> completed_write(bool recorded);

}  // namespace credbroker::audit
