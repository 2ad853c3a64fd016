#pragma once
// mount_routes: puts the mounts of the tables into the router and takes them out again, as the
// tables make them live or take them down (mounts::mount_observer). A database mount serves the
// routes of database_routes.cpp under its path; an AppRole method those of auth_approle.cpp under
// auth/<path>.
//   secret_mounts.enable("db") -> mounted("db/", engine) -> router: "db/" -> database_mount
// Thread: the router locks its own table; safe from any thread.
#include <memory>
#include <string>

#include "api/router.hpp"
#include "broker/auth/approle.hpp"
#include "broker/engine/database_engine.hpp"
#include "broker/mounts/mount_observer.hpp"

namespace credbroker::api {

class secret_mount_routes final : public mounts::secret_mount_observer {
 public:
  explicit secret_mount_routes(router& r) : router_(r) {}
  void mounted(const std::string& path, std::shared_ptr<engine::database_engine> engine) override;
  void unmounted(const std::string& path) override;

 private:
  router& router_;
};

class auth_mount_routes final : public mounts::auth_mount_observer {
 public:
  explicit auth_mount_routes(router& r) : router_(r) {}
  void mounted(const std::string& path, std::shared_ptr<auth::approle_backend> backend) override;
  void unmounted(const std::string& path) override;

 private:
  router& router_;
};

// The routes of one database mount (database_routes.cpp) and of one AppRole mount (auth_approle.cpp).
std::shared_ptr<mount_table_entry> database_mount(const std::string& path, std::shared_ptr<engine::database_engine> e);
std::shared_ptr<mount_table_entry> approle_mount(const std::string& mount_path,
                                                 std::shared_ptr<auth::approle_backend> backend);

}  // namespace credbroker::api
