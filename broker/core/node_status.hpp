#pragma once
// node_status: what sys/health, sys/seal-status and sys/init report about this node.
// Implemented by the seal (barrier) in a real server and by a fixed value in dev mode.
// Thread: status() is called from many worker threads; implementations return a snapshot.
#include <string>

namespace credbroker {

struct seal_snapshot {
  bool initialized = false;
  bool sealed = true;
  bool standby = false;
  int threshold = 0;     // "t"
  int shares = 0;        // "n"
  int progress = 0;      // unseal shares received so far
  std::string nonce;     // of the unseal attempt in progress
  std::string storage_type;
  std::string cluster_name;
  std::string cluster_id;
};

class node_status {
 public:
  virtual ~node_status() = default;
  virtual seal_snapshot status() const = 0;
};

// Dev mode and tests: initialised, unsealed, active.
class fixed_node_status final : public node_status {
 public:
  explicit fixed_node_status(seal_snapshot s) : s_(std::move(s)) {}
  seal_snapshot status() const override { return s_; }

 private:
  seal_snapshot s_;
};

}  // namespace credbroker
