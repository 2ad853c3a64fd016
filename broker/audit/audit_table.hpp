#pragma once
// audit_table: the enabled audit devices (Vault's audit table) — what sys/audit lists, enables and
// disables — kept through the barrier and re-opened at every unseal:
//
//   core/audit               {"type": "audit", "entries": [{path, type, description, options,
//                             local, uuid}, ...]}
//   audit/<uuid>/salt        the device's salt (a random UUID string, Vault's salt format)
//
// enable(e), numbered (a failure at any step leaves nothing behind):
//   1. the path ends in '/', is made of name segments ([A-Za-z0-9_.-]), and neither contains nor
//      lies under an enabled device's path ("path already in use");
//   2. the options are valid for the type (device.hpp);
//   3. a new uuid and salt; the device is made: a file device opens its file now;
//   4. Vault's test message (a request entry for "sys/audit/test") is written through it: a device
//      that cannot record is refused ("audit device failed test message: ...");
//   5. the table and the salt are written in one atomic batch;
//   6. the device joins the broker: the response to this very request is its first real entry.
// disable(path): the table without it and the removal of its salt in one batch, then the broker
// drops it. Disabling a path that holds no device succeeds (Vault's 204). Once disabled, values
// can no longer be hashed with that salt, even if a device is enabled again at the same path.
// load() (at unseal) makes every device of the table with its stored salt; a file that cannot be
// opened is retried on each write, and a device whose row can no longer be used (options now
// refused, salt missing) still joins the broker as a device that records nothing: with the
// fail-closed rule an audited server never serves unaudited because a device broke. An unreadable
// table does the same with one placeholder device. unload() (at seal) drops every device.
// reopen() (SIGHUP) reopens every device's file or socket.
// Thread: every method may be called concurrently; mu_ serialises them and is held across a
// device's test message (at most its write_timeout); the broker's devices_mu_ is taken inside it
// (lock order: audit_table::mu_ -> audit_broker::devices_mu_). Requests never take mu_.
#include <mutex>
#include <string>
#include <vector>

#include "broker/audit/audit_broker.hpp"
#include "broker/audit/device.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::audit {

class audit_table {
 public:
  audit_table(storage::physical& store, audit_broker& broker, device_policy policy = {})
      : store_(store), broker_(broker), policy_(policy) {}

  std::vector<device_entry> list() const;
  status enable(device_entry e);
  status disable(const std::string& path);
  // sys/audit-hash/:path. errc::invalid_request "unknown audit backend" for a path with no device.
  result<std::string> hash(const std::string& path, std::string_view input) const;

  status load();
  void unload();
  void reopen();

  static constexpr const char* table_key = "core/audit";
  static std::string salt_key(const std::string& uuid) { return "audit/" + uuid + "/salt"; }

 private:
  result<std::vector<device_entry>> read_rows() const;
  status persist(std::vector<storage::operation> ops, const std::vector<device_entry>& rows);
  void publish();  // hands devices_ to the broker (caller holds mu_)

  storage::physical& store_;
  audit_broker& broker_;
  const device_policy policy_;
  mutable std::mutex mu_;  // guards devices_; serialises enable, disable, load, unload, reopen
  std::vector<std::shared_ptr<const device>> devices_;  // sorted by path
};

// The table's JSON (exposed for tests).
std::string table_json(const std::vector<device_entry>& rows);
result<std::vector<device_entry>> parse_table(std::string_view text);

// "file" -> "file/"; errc::invalid_request for an empty or malformed path.
result<std::string> normalize_device_path(std::string path);

}  // namespace credbroker::audit
