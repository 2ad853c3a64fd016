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

// High availability as sys/leader and the standby forwarding see it (node/node.hpp fills it in).
struct ha_snapshot {
  bool enabled = false;          // storage.postgresql.ha_enabled
  bool active = false;           // this node is the active one (is_self)
  std::string leader_address;    // the active's api_addr; empty: no active known
  std::string leader_cluster_address;  // the active's cluster_addr when this node is it; else empty
  std::string active_time;       // RFC 3339, when this node became active; "0001-01-01T00:00:00Z" otherwise
};

class node_status {
 public:
  virtual ~node_status() = default;
  virtual seal_snapshot status() const = 0;
  // A node without HA: not enabled. Thread: safe from any thread, never blocks.
  virtual ha_snapshot ha() const { return {}; }
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
