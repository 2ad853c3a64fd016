#include "broker/node/boot_history.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace credbroker::node {
namespace {

result<std::vector<std::string>> read_boots(storage::physical& store) {
  auto raw = store.get(boot_history_path);
  if (!raw) return std::move(raw).err();
  std::vector<std::string> boots;
  if (!raw->has_value()) return boots;
  const auto doc = nlohmann::json::parse(**raw, nullptr, false);
  if (!doc.is_object() || !doc.contains("boots") || !doc["boots"].is_array()) {
    return make_error(errc::integrity_failure, std::string(boot_history_path) + " is not a list of boot ids");
  }
  for (const auto& b : doc["boots"]) {
    if (!b.is_string()) return make_error(errc::integrity_failure, std::string(boot_history_path) + " holds a non-string");
    boots.push_back(b.get<std::string>());
  }
  return boots;
}

}  // namespace

result<std::vector<std::string>> record_active_boot(storage::physical& store, const std::string& boot) {
  auto boots = read_boots(store);
  if (!boots) return std::move(boots).err();
  std::erase(*boots, boot);
  std::vector<std::string> earlier(boots->rbegin(), boots->rend());
  boots->push_back(boot);
  if (boots->size() > boot_history_kept) boots->erase(boots->begin(), boots->end() - boot_history_kept);
  if (auto w = store.put(boot_history_path, nlohmann::json{{"boots", *boots}}.dump()); !w) return std::move(w).err();
  return earlier;
}

}  // namespace credbroker::node
