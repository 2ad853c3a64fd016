#pragma once
// static_role_store: the stored static roles of a mount (static-role/<name>, with the account's
// current password, through the barrier), their rotation WALs' keys (wal/static/<name>) and the
// lock of each static role. Not cached: a static role changes at every rotation.
//
// Invariant: whoever changes a static role's password in the database or its stored record holds
// its lock exclusively from before the WAL is written until the record is stored (and the WAL
// deleted); readers (static-creds, reads) hold it shared, so they never see a password between a
// database change and its store.
//
// Example: lock("svc") -> the same shared_mutex for every caller while the store lives; load("svc")
// of an absent role -> nullopt; of a damaged record -> errc::internal "stored static role \"svc\" is
// damaged".
//
// Thread: all methods are safe concurrently.
//   static lock (per static role, lock())  see the invariant; held across database calls
//   mu_ (leaf)                             locks_, the table of static locks
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/engine/records.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

class static_role_store {
 public:
  static_role_store(storage::physical& store, std::string prefix);

  std::shared_ptr<std::shared_mutex> lock(const std::string& name);
  result<std::optional<static_role>> load(const std::string& name);
  status store(const static_role& r);
  result<std::vector<std::string>> list();
  std::string key(const std::string& name) const { return prefix_ + "static-role/" + name; }
  std::string wal_key(const std::string& name) const { return prefix_ + "wal/static/" + name; }
  std::string wal_dir() const { return prefix_ + "wal/static/"; }

 private:
  storage::physical& store_;
  const std::string prefix_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::shared_mutex>> locks_;  // guarded by mu_
};

}  // namespace credbroker::engine
