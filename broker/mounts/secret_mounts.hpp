#pragma once
// secret_mounts: the table of enabled secrets engines (sys/mounts), persisted at core/mounts (the
// rows of mount_entry.hpp), and one database_engine per mount. The one engine type is "database"
// (several mounts allowed, e.g. "database/" and "team-a/db/"). Each mount keeps its data under
// logical/<uuid>/ and has its own TTL limits (tune; 0 = the server's default_lease_ttl /
// max_lease_ttl), which its engine reads through a mount_limits without taking any lock here.
//
// Disabling a mount revokes its leases first (a failure keeps the mount, so nothing is orphaned),
// then deletes its data, then the row. Moving a mount (remount) keeps its data (it lives under its
// uuid) and is refused while the mount holds leases: a lease id names its mount, and leases are not
// re-keyed. Every change is stored before it is published: readers see the old table until the new
// one is durable, and a failed write changes nothing.
//   enable("team/db", "database") -> core/mounts += {path "team/db/", uuid U} stored
//                                 -> engine at "team/db/" with prefix "logical/U/" -> observer.mounted
//
// Errors are domain codes (errc::invalid_request: "path is already in use at x/", "unknown secrets
// engine type \"kv\" ...", "tune of path \"x/\" failed: no mount entry found", ...; storage errors as
// the store gives them); api/ maps them to statuses.
//
// Locks, in this order (never the reverse):
//   write_mu_  serialises the changes of the table (load, unload, enable, disable's last step, tune,
//              remount): the table's per-object serialisation, held across the core/mounts write and
//              a disabled mount's data deletion; never across a lease revocation or a plugin call,
//              and no issuance, renewal or revocation ever takes it.
//   rows_mu_   guards rows_ (the published table); held only to read or swap it in memory.
//   then the observer's and engine_router's own locks (taken by the calls under write_mu_).
// Thread: safe concurrently with requests; plugin instances of a mount taken down are closed after
// both locks are released.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/engine/database_engine.hpp"
#include "broker/mounts/mount_entry.hpp"
#include "broker/mounts/mount_limits.hpp"
#include "broker/mounts/mount_observer.hpp"
#include "broker/mounts/pending_settler.hpp"

namespace credbroker::mounts {

struct engine_services {
  storage::physical& store;
  const plugin::registry& plugins;
  leases::lease_manager& leases;
  engine::password_policies& passwords;
  engine::engine_router& engines;
  const clock& clk;
  leases::ttl_limits system_limits;
  engine::rotation_scheduler* rotations = nullptr;  // static roles and scheduled root rotations
  std::string boot_id = plugin::boot_id();           // this process's (tests play several processes)
};

class secret_mounts {
 public:
  static constexpr const char* table_key = "core/mounts";
  explicit secret_mounts(engine_services s) : s_(s), settler_(s.leases, s.engines, s.clk) {}
  // Takes its engines out of the lease manager's router and closes them.
  ~secret_mounts();

  // Who serves the mounts from now on (told of each mount made live or taken down later).
  void observe(secret_mount_observer* o) { observer_ = o; }
  status load();
  void unload();
  status enable(std::string path, const std::string& type, const std::string& description,
                std::chrono::seconds default_ttl, std::chrono::seconds max_ttl);
  status disable(std::string path);
  status tune(std::string path, const mount_tune& t);
  // Moves a mount ("database" -> "db/prod"). Errors: no mount at from, to in use or reserved, the
  // mount holds leases.
  status remount(std::string from, std::string to);

  // The published table, a row, and a row's effective TTL limits (nullopt when not mounted).
  mount_rows rows() const;
  std::optional<mount_entry> find(std::string path) const;
  std::optional<leases::ttl_limits> limits_of(std::string path) const;
  // The mount path the request path falls under ("database/creds/x" -> "database/"), "" if none.
  std::string mount_of(const std::string& path) const;

  // Settles the leases the last run left pending (after load and lease restore; pending_settler).
  void resolve_pending() { settler_.resolve(); }
  // Retries due unsettled pending leases, then runs each mount's due reconciliations
  // (database_engine::reconcile_due). Called periodically (every few seconds).
  void reconcile_due();
  // Settles rotation WALs left by the last run and schedules every rotation (start-up, background).
  void recover_rotations();

 private:
  struct row {
    mount_entry entry;
    std::shared_ptr<mount_limits> limits;
  };
  // With write_mu_ held: the published rows, and storing a next table.
  mount_rows snapshot() const;
  status store_rows(const mount_rows& next) const;
  // With write_mu_ held: makes a stored row live (engine, limits, observer), or takes one down
  // (returns its engine, to be closed once the locks are released).
  void go_live(const mount_entry& e);
  std::shared_ptr<engine::database_engine> take_down(const std::string& path);

  engine_services s_;
  pending_settler settler_;
  secret_mount_observer* observer_ = nullptr;
  std::mutex write_mu_;
  mutable std::mutex rows_mu_;
  std::map<std::string, row> rows_;
};

}  // namespace credbroker::mounts
