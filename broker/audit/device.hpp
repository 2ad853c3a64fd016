#pragma once
// device: one enabled audit device — its table row, its options, its salt and its sink.
//
// Options (strings, as Vault's sys/audit takes them):
//   every type  format (json | jsonx, default json), prefix, hmac_accessor (Go bool, default true),
//               log_raw (default false), elide_list_responses (default false)
//   file        file_path (required; also "path"; "stdout", "discard"), mode (octal, default 0600;
//               "0000" keeps an existing file's mode; executable modes are refused, as Vault 1.20.1+)
//               prefix only where the server configuration sets allow_audit_log_prefixing (Vault's
//               rule since CVE-2025-6000: a prefix lets whoever may enable devices write chosen
//               text into any file the server can write)
//   socket      address (required), socket_type (tcp | udp | unix, default tcp), write_timeout
//               (Go duration or seconds, default 2s)
// An unknown option, a bad value or a missing required option is errc::invalid_request naming it.
//
// log() formats the entry for this device (its own salt and options) and hands it to the sink.
// Thread: immutable after make_device; log() and hash() run concurrently.
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "broker/audit/format.hpp"
#include "broker/audit/hashing.hpp"
#include "broker/audit/sink.hpp"

namespace credbroker::audit {

// One row of the audit table (core/audit).
struct device_entry {
  std::string path;  // "file/" (always ends in '/')
  std::string type;  // "file" | "socket"
  std::string description;
  std::map<std::string, std::string> options;
  bool local = false;
  std::string uuid;  // names the device's storage: audit/<uuid>/salt
};

// What the server configuration allows.
struct device_policy {
  bool allow_file_prefix = false;  // allow_audit_log_prefixing
};

class device {
 public:
  device(device_entry e, format_options o, salt s, std::unique_ptr<audit::sink> out)
      : entry_(std::move(e)), options_(std::move(o)), salt_(std::move(s)), sink_(std::move(out)) {}

  const device_entry& entry() const { return entry_; }
  const format_options& options() const { return options_; }
  audit::sink& sink() const { return *sink_; }
  std::string hash(std::string_view input) const { return salt_.hmac(input); }

  // The line of this event for this device.
  std::string request_line(const log_input& in, time_point now) const;
  std::string response_line(const log_input& in, time_point now) const;

  // Records whether the last line was recorded; true when that changed (the broker logs outages
  // once, not once per request).
  bool note_outcome(bool recorded) const { return failing_.exchange(!recorded) == recorded; }

 private:
  device_entry entry_;
  format_options options_;
  salt salt_;
  std::unique_ptr<audit::sink> sink_;
  mutable std::atomic<bool> failing_{false};
};

// Validates the options only (sys/audit enable checks them before it makes a salt or opens a file).
result<format_options> parse_options(const device_entry& e, const device_policy& p);

// Validates the options and opens the sink: a file device opens its file now, unless lazy (at
// unseal), where a file that cannot be opened is retried on each write.
result<std::shared_ptr<device>> make_device(const device_entry& e, secret salt_key, const device_policy& p,
                                            bool lazy = false);

}  // namespace credbroker::audit
