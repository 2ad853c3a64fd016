#pragma once
// boot_history: the boot ids (plugin/boot_id.hpp) of the broker processes that were the active node
// of this store, newest last, kept at "core/active-boots" through the barrier as JSON:
//   {"boots": ["k3J9xQ0aZ7mT2pLb", "Qm2sXc81ZpLk0aBv"]}
// At each step-up the node records its own boot and hands the earlier ones to the engines: a
// revocation of an inherited lease ends their database sessions first (leases/lease_manager.hpp,
// "Inherited leases"), so a revocation that a killed or paused former active left open in the
// database can no longer commit after this process checked the user.
//
//   stored [a, b], record(c) -> stored [a, b, c], returns [b, a]   (the newest first)
//   stored [a, b], record(a) -> stored [b, a],    returns [b]      (a node that leads again)
// At most `kept` boots are stored (the oldest are dropped): a process whose sessions outlived eight
// takeovers is gone.
// Thread: the node calls it from step_up (one at a time); no state of its own.
#include <cstddef>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::node {

inline constexpr const char* boot_history_path = "core/active-boots";
inline constexpr std::size_t boot_history_kept = 8;

// Records `boot` as the newest active process and returns the earlier ones, newest first. Errors:
// the storage's; errc::integrity_failure for a record that is not the JSON above (left as it is).
result<std::vector<std::string>> record_active_boot(storage::physical& store, const std::string& boot);

}  // namespace credbroker::node
