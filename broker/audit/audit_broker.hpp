#pragma once
// audit_broker: hands every audit event to every enabled device and keeps Vault's promise —
// with devices enabled, an event that no device recorded is an error, and the API refuses the
// request (an internal error): before its handler runs when the request entry failed, and instead of its answer
// when the response entry failed (the handler's effects stay: a credential issued then is revoked
// at its lease's expiry, as in Vault). With no device enabled every event is a success and costs
// one atomic load (enabled()).
//
// Fan-out, for one event (log_request / log_response):
//   1. each device formats the entry itself (its own salt and options);
//   2. direct sinks (files) write it now, one after another;
//   3. queued sinks (sockets) get it submitted; only if no direct sink recorded it does the broker
//      wait, for the first queued sink to record it (each within its write_timeout). A socket that is
//      slow or gone therefore delays requests only while it is the one device that can record them.
// A failed device is logged once per outage (when it starts failing and when it recovers), not once
// per request. Failures of the whole event are counted: vault_audit_log_request_failure and
// vault_audit_log_response_failure (failures(), and telemetry's counters of the same names).
//
// Example: devices file/ (working) and socket/ (peer gone): every request is served, file/ has every
// entry, the log says once that socket/ fails. Disable file/: every request is refused (internal) and
// request_failure counts each, until the peer is back.
// Thread: log_* run concurrently from the worker pool; set_devices swaps the set under devices_mu_,
// which is held only to copy or replace the shared pointer (never across a write); an event uses
// the set it started with.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "broker/audit/device.hpp"
#include "broker/core/clock.hpp"

namespace credbroker::audit {

struct failure_counters {
  std::uint64_t request_failure = 0;   // vault_audit_log_request_failure
  std::uint64_t response_failure = 0;  // vault_audit_log_response_failure
};

class audit_broker {
 public:
  using device_set = std::vector<std::shared_ptr<const device>>;

  explicit audit_broker(const clock& clk) : clock_(clk), devices_(std::make_shared<const device_set>()) {}

  void set_devices(device_set devices);
  std::shared_ptr<const device_set> devices() const;
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

  // errc::internal when devices are enabled and none recorded the entry.
  status log_request(const log_input& in);
  status log_response(const log_input& in);

  failure_counters failures() const;
  time_point now() const { return clock_.now(); }

 private:
  bool fan_out(const log_input& in, bool response);

  const clock& clock_;
  mutable std::mutex devices_mu_;  // guards devices_ (the pointer)
  std::shared_ptr<const device_set> devices_;
  std::atomic<bool> enabled_{false};
  std::atomic<std::uint64_t> request_failures_{0};
  std::atomic<std::uint64_t> response_failures_{0};
};

}  // namespace credbroker::audit
