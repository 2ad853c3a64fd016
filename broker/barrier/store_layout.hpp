#pragma once
// store_layout: what an initialised store must hold, and the one-time upgrades of its layout.
//
// Security state is a key whose absence means the store was damaged, never that it is new: a
// token salt made up again silently invalidates every token (root included), an empty mount table
// silently drops every mount and the leases' database users with them. The components register
// theirs (require()); init writes each one's initial value with the new keyring, and every unseal
// checks them all before anything else runs:
//
//   all present                        -> unseal goes on
//   missing, layout >= 2               -> refused: errc::integrity_failure naming each missing key
//   missing, layout 1, no evidence     -> created (the first release wrote some of them on first use)
//   missing, layout 1, evidence found  -> refused as damage (a key under one of its evidence
//                                         prefixes shows it existed: tokens without a salt, ...)
//   missing and accept_lost_state(true) (server -fresh-store) -> created empty, with a warning
//                                         naming each key and what its loss costs
//
// The layout version is stored through the barrier at "core/layout" ({"version": 2}); a store
// without it was written by the first release (layout 1). Upgrades registered for a later version
// run at the first unseal that finds the store older, in version order, after the check; the new
// version is stored only once all of them succeeded, so a crash re-runs them (each is idempotent).
//
// Example (a store from the first release, with tokens but no secrets engine ever enabled):
//   layout 1; auth/token/salt present; core/mounts missing, nothing under logical/ or
//   sys/expire/id/ -> core/mounts = "[]"; then the accessor-salting upgrade; then core/layout = 2.
//
// Thread: register everything before the first init or unseal; settle() runs under the seal
// manager's lock, with the barrier unsealed and no request served yet.
#include <functional>
#include <string>
#include <vector>

#include "broker/barrier/barrier.hpp"

namespace credbroker::barrier {

struct required_state {
  std::string key;   // read through the barrier: "auth/token/salt"
  std::string what;  // "the token salt"
  std::string loss;  // what recreating it costs: "every token and AppRole secret ID stops working"
  std::function<std::string()> initial;  // its value in a new store
  // Layout 1 only: prefixes whose keys show it once existed ("auth/token/id/" for the salt).
  std::vector<std::string> evidence;
};

struct layout_upgrade {
  int version = 0;   // the layout this brings the store to
  std::string what;  // for the log: "accessors in storage keys salted"
  std::function<credbroker::status()> run;  // idempotent: a crash re-runs it from the start
};

class store_layout {
 public:
  static constexpr int current = 2;
  static constexpr const char* path = "core/layout";

  void require(required_state r) { required_.push_back(std::move(r)); }
  void add_upgrade(layout_upgrade u);
  // The operator asked for a fresh start of whatever security state is lost (-fresh-store).
  void accept_lost_state(bool yes) { accept_lost_ = yes; }
  bool accepts_lost_state() const { return accept_lost_; }

  // What init writes (through the new keyring): every initial value and the current layout.
  std::vector<storage::operation> initial_writes() const;
  // The unseal-time check and upgrades described above.
  credbroker::status settle(barrier& b) const;

 private:
  result<int> stored_version(barrier& b) const;
  result<bool> lost(barrier& b, const required_state& r, int version) const;

  std::vector<required_state> required_;
  std::vector<layout_upgrade> upgrades_;  // by version
  bool accept_lost_ = false;
};

}  // namespace credbroker::barrier
