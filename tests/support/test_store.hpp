#pragma once
// test_store: the in-memory storage of unit tests, with the hooks production code must not carry:
// fail_writes(true) makes every write fail with errc::storage_failure ("storage write failed for
// \"<first key>\": injected failure") until fail_writes(false); snapshot() and poke() read and
// tamper with the stored bytes directly (below the barrier, as a damaged disk would).
// Thread: as inmem_backend (every method from any thread).
#include <atomic>
#include <map>
#include <string>

#include "broker/storage/inmem_backend.hpp"

namespace credbroker::test {

class test_store final : public storage::physical {
 public:
  result<std::optional<std::string>> get(const std::string& key) override { return inner_.get(key); }
  result<std::vector<std::string>> list(const std::string& prefix) override { return inner_.list(prefix); }
  status apply(std::vector<storage::operation> ops) override {
    if (fail_writes_) {
      return make_error(errc::storage_failure, "storage write failed for \"" +
                                                   (ops.empty() ? std::string() : ops.front().key) +
                                                   "\": injected failure");
    }
    return inner_.apply(std::move(ops));
  }
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override {
    return inner_.scan(prefix, visit);
  }

  void fail_writes(bool on) { fail_writes_ = on; }
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> out;
    (void)inner_.scan("", [&](const std::string& k, std::string_view v) {
      out.emplace(k, std::string(v));
      return true;
    });
    return out;
  }
  void poke(const std::string& key, std::string value) { (void)inner_.put(key, std::move(value)); }

 private:
  storage::inmem_backend inner_;
  std::atomic<bool> fail_writes_{false};
};

}  // namespace credbroker::test
