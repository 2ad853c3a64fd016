#include "api/mount_routes.hpp"

namespace credbroker::api {

void secret_mount_routes::mounted(const std::string& path, std::shared_ptr<engine::database_engine> engine) {
  router_.add_mount(database_mount(path, std::move(engine)));
}

void secret_mount_routes::unmounted(const std::string& path) { router_.remove_mount(path); }

void auth_mount_routes::mounted(const std::string& path, std::shared_ptr<auth::approle_backend> backend) {
  router_.add_mount(approle_mount("auth/" + path, std::move(backend)));
}

void auth_mount_routes::unmounted(const std::string& path) { router_.remove_mount("auth/" + path); }

}  // namespace credbroker::api
