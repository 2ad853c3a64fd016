#pragma once
// mount_tables: what the node activates above itself. The secrets engine and auth method tables
// (broker/mounts) sit beside the node; the composition root (server_command) adapts them to this
// interface, so the node steps them up and down without knowing them or the API.
// Thread: the node calls load/unload from its step-up and step-down (one at a time), the others from
// executor threads.
#include "broker/core/result.hpp"

namespace credbroker::node {

class mount_tables {
 public:
  virtual ~mount_tables() = default;
  // The auth methods and the secrets engines from storage (errors logged by the implementation).
  virtual void load() = 0;
  virtual void unload() = 0;
  // Restore step 1: root and static rotations cut by a crash, from their WALs.
  virtual void recover_rotations() = 0;
  // Restore step 3: leases left pending by a crash (or by a former active node), with user_exists.
  virtual void resolve_pending() = 0;
  // The periodic reconciliation of database users with their leases.
  virtual void reconcile_due() = 0;
};

}  // namespace credbroker::node
