#pragma once
// secret_mounts: the table of enabled secrets engines (sys/mounts), persisted at core/mounts, and
// their mounts in the router. The one engine type is "database" (several mounts allowed, e.g.
// "database/" and "team-a/db/"). Each mount keeps its data under logical/<uuid>/ and has its own
// TTL limits (sys/mounts/:path/tune; 0 = the server's default_lease_ttl / max_lease_ttl).
//
// Disabling a mount revokes its leases first (a failure keeps the mount, so nothing is orphaned),
// then deletes its data. Moving a mount (sys/remount) keeps its data (it lives under its uuid) and
// is refused while the mount holds leases: a lease id names its mount, and leases are not re-keyed.
// Thread: safe concurrently with requests.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "broker/engine/database_engine.hpp"

namespace credbroker::api {

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

// A tune as Vault's: an unset field keeps the value; 0 is the server's default ("system").
struct mount_tune {
  std::optional<std::chrono::seconds> default_ttl;
  std::optional<std::chrono::seconds> max_ttl;
  std::optional<std::string> description;
};

class secret_mounts {
 public:
  static constexpr const char* table_key = "core/mounts";
  explicit secret_mounts(engine_services s) : s_(s) {}
  // Takes its engines out of the lease manager's router (the router of requests may be gone).
  ~secret_mounts();

  void attach(router& r) { router_ = &r; }
  status load();
  void unload();
  // Errors (400): "path is already in use at x/", "unknown secrets engine type \"kv\" ...".
  status enable(std::string path, const std::string& type, const std::string& description,
                std::chrono::seconds default_ttl, std::chrono::seconds max_ttl);
  status disable(std::string path);
  // Errors (400): "tune of path \"x/\" failed: no mount entry found", "backend max lease TTL of 60
  // would be less than backend default lease TTL of 3600".
  status tune(std::string path, const mount_tune& t);
  // The effective limits and description of a mount; nullopt when not mounted.
  std::optional<nlohmann::json> read_tune(std::string path) const;
  // One entry of table() (GET sys/mounts/:path); "sys/" included; nullopt when not mounted.
  std::optional<nlohmann::json> describe(std::string path) const;
  // The mount path the request path falls under ("database/creds/x" -> "database/"), "" if none.
  std::string mount_of(const std::string& path) const;
  nlohmann::json table() const;
  // Moves a mount ("database" -> "db/prod"). Errors (400): no mount at from, to in use or reserved,
  // the mount holds leases.
  status remount(std::string from, std::string to);
  // Settles the leases the last run left pending (call after load and lease restore). Those that
  // cannot be settled now (database unreachable, the dead run's sessions not ended) are kept and
  // tried again by reconcile_due(), after 5 s, then doubling up to 5 min, until each is settled or
  // gone (revoked at its expiry, which ends the dead run's sessions first too).
  void resolve_pending();
  // Retries due unsettled pending leases, then runs each mount's due reconciliations
  // (database_engine::reconcile_due). Called periodically (every few seconds).
  void reconcile_due();
  // Settles rotation WALs left by the last run and schedules every rotation (start-up, background).
  void recover_rotations();

 private:
  struct entry {
    std::string path;  // "database/"
    std::string type;
    std::string description;
    std::string accessor;
    std::string uuid;
    std::int64_t default_ttl = 0;
    std::int64_t max_ttl = 0;
  };
  status save_locked() const;
  void mount_locked(const entry& e);
  void unmount_locked(const std::string& path);
  static nlohmann::json describe_entry(const entry& e);
  leases::ttl_limits limits_of(const std::string& path) const;
  struct settle_counts {
    std::size_t kept = 0, forgotten = 0;
    std::vector<std::string> left;  // not settled: tried again later
  };
  settle_counts settle(const std::vector<std::string>& ids);

  engine_services s_;
  router* router_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, entry> entries_;
  // Pending leases not settled yet, and when to try them again (guarded by settle_mu_; never held
  // across a database call: a pass takes the list out and puts back what is left).
  std::mutex settle_mu_;
  std::vector<std::string> unsettled_;
  int settle_attempts_ = 0;
  time_point next_settle_{};
};

// Checks a new mount path: "path cannot be empty", reserved prefixes, characters (400). Normalises it
// ("database" -> "database/").
result<std::string> checked_mount_path(std::string path);

// The routes of one database mount (database_routes.cpp).
std::shared_ptr<mount_table_entry> database_mount(const std::string& path, std::shared_ptr<engine::database_engine> e);

}  // namespace credbroker::api
