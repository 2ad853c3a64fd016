#pragma once
// inmem_backend: a std::map behind a shared_mutex. Dev mode and unit tests (whose fault injection
// is tests/support/test_store.hpp); nothing survives exit.
// Thread: every method from any thread.
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

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> data_;
};

}  // namespace credbroker::storage
