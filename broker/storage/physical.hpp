#pragma once
// physical: the storage interface every backend implements (Vault's physical.Backend).
//
// Keys are '/'-separated paths ("sys/token/id/ab12"); values are opaque bytes.
//   get(k)          -> the value, or nullopt when absent
//   put(k, v)       -> durable when it returns ok (a crash afterwards never loses it)
//   remove(k)       -> durable; removing an absent key is ok (idempotent)
//   list(prefix)    -> one level below prefix, sorted: leaves as names, folders as "name/".
//                      Example: keys a/x, a/y/z, b  -> list("a/") = ["x", "y/"], list("") = ["a/", "b"]
//   apply(ops)      -> all puts and removes in one atomic, durable step, in order
//   apply_lazy(ops) -> the same step, queued behind every write already queued and ahead of every
//                      later one, but the call does not wait for it to be durable: a crash soon after
//                      may lose it (never half of it). For writes whose loss recovery repairs, e.g.
//                      a lease's pending -> active, which start-up settles with user_exists. A failure
//                      is logged, not returned.
// Errors: errc::storage_failure with a message naming the key (disk full, read-only, busy...).
// Thread: every method may be called concurrently from any thread.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::storage {

struct operation {
  enum class kind { put, remove };
  kind k = kind::put;
  std::string key;
  std::string value;  // put only

  static operation put(std::string key, std::string value) { return {kind::put, std::move(key), std::move(value)}; }
  static operation remove(std::string key) { return {kind::remove, std::move(key), {}}; }
};

class physical {
 public:
  virtual ~physical() = default;
  virtual result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual result<std::vector<std::string>> list(const std::string& prefix) = 0;
  virtual status apply(std::vector<operation> ops) = 0;
  virtual void apply_lazy(std::vector<operation> ops);  // default: apply, result logged
  // Every key under prefix (all depths) with its value, in key order, in one pass: for start-up
  // restores of many records. visit returning false stops the scan.
  virtual status scan(const std::string& prefix,
                      const std::function<bool(const std::string& key, std::string_view value)>& visit) = 0;

  // One-operation batches.
  status put(const std::string& key, std::string value) {
    std::vector<operation> ops;
    ops.push_back(operation::put(key, std::move(value)));
    return apply(std::move(ops));
  }
  status remove(const std::string& key) {
    std::vector<operation> ops;
    ops.push_back(operation::remove(key));
    return apply(std::move(ops));
  }
};

// One level of children below prefix from a sorted range of full keys (shared by backends).
// Keys that do not start with prefix are ignored.
std::vector<std::string> children_of(const std::string& prefix, const std::vector<std::string>& sorted_keys);

}  // namespace credbroker::storage
