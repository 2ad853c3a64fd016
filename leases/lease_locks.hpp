#pragma once
// lease_locks: one mutex per lease id, for exactly as long as someone holds or waits for it — renew,
// revocation and expire_now of one lease take turns (Vault's per-lease lock), and leases never wait
// for each other. (A fixed set of stripes made leases that hash alike wait behind each other's
// database calls: one hung revocation held 1/256 of all leases.)
//
//   auto held = locks.lock("database/creds/app/X");   // blocks only behind the same lease
//
// Memory: an entry per lease being worked on, erased by the last holder or waiter to leave.
// Thread: safe concurrently. mu_ (the table) is a leaf lock, held for a lookup; a lease's own mutex
// is held by its holder, across that lease's database call.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace credbroker::leases {

class lease_locks {
  struct entry {
    std::mutex m;
    unsigned users = 0;  // guarded by lease_locks::mu_: holders + waiters
  };

 public:
  class held {
   public:
    held(held&& o) noexcept : owner_(o.owner_), id_(o.id_), e_(o.e_) { o.owner_ = nullptr; }
    held(const held&) = delete;
    held& operator=(const held&) = delete;
    held& operator=(held&&) = delete;
    ~held() {
      if (owner_ != nullptr) owner_->unlock(*id_, e_);
    }

   private:
    friend class lease_locks;
    held(lease_locks* owner, const std::string* id, entry* e) : owner_(owner), id_(id), e_(e) {}
    lease_locks* owner_;
    const std::string* id_;  // the key inside the table's node: stable while the entry exists
    entry* e_;
  };

  held lock(const std::string& id) {
    const std::string* key;
    entry* e;
    {
      std::lock_guard table(mu_);
      auto it = map_.try_emplace(id).first;
      if (!it->second) it->second = std::make_unique<entry>();
      ++it->second->users;
      key = &it->first;
      e = it->second.get();
    }
    e->m.lock();
    return held(this, key, e);
  }

  std::size_t size() const {
    std::lock_guard table(mu_);
    return map_.size();
  }

 private:
  void unlock(const std::string& id, entry* e) {
    e->m.unlock();
    std::lock_guard table(mu_);
    if (--e->users == 0) map_.erase(map_.find(id));
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<entry>> map_;  // guarded by mu_
};

}  // namespace credbroker::leases
