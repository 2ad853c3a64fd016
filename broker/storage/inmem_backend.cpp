#include "broker/storage/inmem_backend.hpp"

#include <mutex>

namespace credbroker::storage {

result<std::optional<std::string>> inmem_backend::get(const std::string& key) {
  std::shared_lock lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>{};
  return std::optional<std::string>{it->second};
}

result<std::vector<std::string>> inmem_backend::list(const std::string& prefix) {
  std::vector<std::string> keys;
  {
    std::shared_lock lock(mu_);
    for (auto it = data_.lower_bound(prefix); it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
      keys.push_back(it->first);
    }
  }
  return children_of(prefix, keys);
}

status inmem_backend::apply(std::vector<operation> ops) {
  std::unique_lock lock(mu_);
  for (auto& op : ops) {
    if (op.k == operation::kind::put) {
      data_[op.key] = std::move(op.value);
    } else {
      data_.erase(op.key);
    }
  }
  return ok_v;
}

status inmem_backend::scan(const std::string& prefix,
                           const std::function<bool(const std::string&, std::string_view)>& visit) {
  std::shared_lock lock(mu_);
  for (auto it = data_.lower_bound(prefix); it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    if (!visit(it->first, it->second)) break;
  }
  return ok_v;
}

}  // namespace credbroker::storage
