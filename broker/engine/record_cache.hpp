#pragma once
// record_cache<T>: the in-memory copy of one kind of stored record (connection configs, roles),
// read through from storage. This process is the only writer of its mount's storage, so a record
// once read stays valid until this process writes or deletes it — and every write or delete here
// calls set() (or clear()) after its storage write.
//
//   get("pg")        cached -> it; else storage dir + "pg" parsed and cached; absent -> null
//   set("pg", c)     after a write (null: after a delete)
//   put("pg", text, c) stores text, then caches c
//   erase("pg")      deletes the stored record and forgets it; names(): the stored ones
//   clear()          after the mount's data was deleted
//
// Invariant: a get() that raced a set() or clear() never installs what it read (it may be older
// than the write): every set() and clear() bumps a generation, and get() caches only if the
// generation is the one it saw before reading storage. A record that does not parse is an error
// (errc::internal, "stored <what> \"<name>\" is damaged"), never cached.
//
// Thread: all methods are safe concurrently. mu_ guards entries_ and generation_; it is a leaf,
// never held across storage I/O.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

template <class T>
class record_cache {
 public:
  using parser = std::optional<T> (*)(std::string_view);

  // dir: the storage folder of the records (e.g. "logical/<uuid>/config/"); what: the kind's name
  // in errors ("connection", "role").
  record_cache(storage::physical& store, std::string dir, std::string what, parser parse)
      : store_(store), dir_(std::move(dir)), what_(std::move(what)), parse_(parse) {}

  const std::string& dir() const { return dir_; }

  // The cached or stored value; null when absent.
  result<std::shared_ptr<const T>> get(const std::string& name) {
    std::uint64_t gen = 0;
    {
      std::lock_guard lock(mu_);
      if (auto it = entries_.find(name); it != entries_.end()) return it->second;
      gen = generation_;
    }
    auto raw = store_.get(dir_ + name);
    if (!raw) return std::move(raw).err();
    if (!raw->has_value()) return std::shared_ptr<const T>();
    auto parsed = parse_(**raw);
    if (!parsed) return make_error(errc::internal, "stored " + what_ + " \"" + name + "\" is damaged");
    auto ptr = std::make_shared<const T>(std::move(*parsed));
    std::lock_guard lock(mu_);
    if (generation_ == gen) entries_.emplace(name, ptr);  // nothing was written meanwhile
    return ptr;
  }

  void set(const std::string& name, std::shared_ptr<const T> value) {
    std::lock_guard lock(mu_);
    ++generation_;
    if (value) entries_[name] = std::move(value);
    else entries_.erase(name);
  }

  // Stores `text` (the record's stored form), then caches `value` (as set(name, value)).
  status put(const std::string& name, std::string text, T value) {
    if (auto s = store_.put(dir_ + name, std::move(text)); !s) return s;
    set(name, std::make_shared<const T>(std::move(value)));
    return ok_v;
  }
  // Deletes the stored record, then forgets it (as set(name, null)).
  status erase(const std::string& name) {
    if (auto s = store_.remove(dir_ + name); !s) return s;
    set(name, nullptr);
    return ok_v;
  }
  // The stored records' names (storage's list of dir).
  result<std::vector<std::string>> names() const { return store_.list(dir_); }
  void clear() {
    std::lock_guard lock(mu_);
    ++generation_;
    entries_.clear();
  }

 private:
  storage::physical& store_;
  const std::string dir_;
  const std::string what_;
  const parser parse_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const T>> entries_;  // guarded by mu_
  std::uint64_t generation_ = 0;                             // guarded by mu_: bumped by set and clear
};

}  // namespace credbroker::engine
