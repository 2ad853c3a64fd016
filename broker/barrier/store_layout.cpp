#include "broker/barrier/store_layout.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace credbroker::barrier {
namespace {

std::string layout_value(int version) { return nlohmann::json{{"version", version}}.dump(); }

}  // namespace

void store_layout::add_upgrade(layout_upgrade u) {
  upgrades_.push_back(std::move(u));
  std::stable_sort(upgrades_.begin(), upgrades_.end(),
                   [](const layout_upgrade& a, const layout_upgrade& b) { return a.version < b.version; });
}

std::vector<storage::operation> store_layout::initial_writes() const {
  std::vector<storage::operation> ops;
  for (const auto& r : required_) ops.push_back(storage::operation::put(r.key, r.initial ? r.initial() : ""));
  ops.push_back(storage::operation::put(path, layout_value(current)));
  return ops;
}

result<int> store_layout::stored_version(barrier& b) const {
  auto raw = b.get(path);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return 1;  // the first release wrote no layout version
  const auto j = nlohmann::json::parse(**raw, nullptr, false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) {
    return make_error(errc::integrity_failure, std::string("the storage layout version (") + path + ") is malformed");
  }
  return j["version"].get<int>();
}

result<bool> store_layout::lost(barrier& b, const required_state& r, int version) const {
  if (version >= 2) return true;
  for (const auto& prefix : r.evidence) {
    auto keys = b.list(prefix);
    if (!keys) return std::move(keys).err();
    if (!keys->empty()) return true;
  }
  return false;
}

credbroker::status store_layout::settle(barrier& b) const {
  auto version = stored_version(b);
  if (!version) return std::move(version).err();
  if (*version > current) {
    return make_error(errc::integrity_failure, "the store has layout " + std::to_string(*version) +
                                                   ", newer than this credbroker understands (" + std::to_string(current) +
                                                   "): run the release that wrote it");
  }
  std::vector<storage::operation> create;
  std::string missing;
  std::string costs;
  for (const auto& r : required_) {
    auto value = b.get(r.key);
    if (!value) return std::move(value).err();
    if (value->has_value()) continue;
    auto was_lost = lost(b, r, *version);
    if (!was_lost) return std::move(was_lost).err();
    if (*was_lost && !accept_lost_) {
      missing += (missing.empty() ? "" : ", ") + r.what + " (" + r.key + ")";
      costs += (costs.empty() ? "" : "; ") + r.loss;
      continue;
    }
    if (*was_lost) {
      spdlog::warn("storage: {} ({}) was missing and is recreated empty because -fresh-store was given: {}", r.what,
                   r.key, r.loss);
    }
    create.push_back(storage::operation::put(r.key, r.initial ? r.initial() : ""));
  }
  if (!missing.empty()) {
    return make_error(errc::integrity_failure,
                      "storage is damaged, refusing to unseal: missing " + missing +
                          ". Restore the data directory from a backup; or, to accept the loss, start the server "
                          "once with -fresh-store to recreate it empty (" + costs + ")");
  }
  if (!create.empty()) {
    if (auto s = b.apply(std::move(create)); !s) return s;
  }
  if (*version == current) return ok_v;
  for (const auto& u : upgrades_) {
    if (u.version <= *version) continue;
    spdlog::info("storage: upgrading the layout from {} to {}: {}", *version, u.version, u.what);
    if (auto s = u.run(); !s) {
      return error{s.err().code, "storage layout upgrade to " + std::to_string(u.version) + " (" + u.what +
                                     ") failed: " + s.err().message};
    }
  }
  return b.put(path, layout_value(current));
}

}  // namespace credbroker::barrier
