#pragma once
// mount_observer: who serves the mounts of the tables (the API's router). The tables tell it each
// mount they make live and each they take down, so the tables know nothing of how requests reach a
// mount. Calls come with the table's write lock held (mount_table lock order): an observer only
// updates memory, takes no lock of the tables and calls nothing back.
// Thread: called from whichever thread changes a table; one change at a time per table.
#include <memory>
#include <string>

namespace credbroker::engine {
class database_engine;
}
namespace credbroker::auth {
class approle_backend;
}

namespace credbroker::mounts {

class secret_mount_observer {
 public:
  virtual ~secret_mount_observer() = default;
  // "database/" is live, served by `engine`.
  virtual void mounted(const std::string& path, std::shared_ptr<engine::database_engine> engine) = 0;
  virtual void unmounted(const std::string& path) = 0;
};

class auth_mount_observer {
 public:
  virtual ~auth_mount_observer() = default;
  // "approle/" (below auth/) is live, served by `backend`.
  virtual void mounted(const std::string& path, std::shared_ptr<auth::approle_backend> backend) = 0;
  virtual void unmounted(const std::string& path) = 0;
};

}  // namespace credbroker::mounts
