#pragma once
// inmem_backend: a std::map behind a shared_mutex. Dev mode and unit tests; nothing survives exit.
// Writes can be made to fail on demand (fail_writes) so tests can exercise error paths.
#include <atomic>
#include <map>
#include <shared_mutex>

#include "broker/storage/physical.hpp"

namespace credbroker::storage {

class inmem_backend final : public physical {
 public:
  result<std::optional<std::string>> get(const std::string& key) override;
  result<std::vector<std::string>> list(const std::string& prefix) override;
  status apply(std::vector<operation> ops) override;
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override;

  // Test hook: while true, every write fails with errc::storage_failure.
  void fail_writes(bool on) { fail_writes_ = on; }
  // Test hook: direct access to the stored bytes (to tamper with them).
  std::map<std::string, std::string> snapshot() const;
  void poke(const std::string& key, std::string value);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> data_;
  std::atomic<bool> fail_writes_{false};
};

}  // namespace credbroker::storage
