#include "broker/storage/rename.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace credbroker::storage {

status move_folder(physical& s, const std::string& from, const std::string& to, std::size_t batch) {
  if (batch == 0) batch = 1;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> chunk;
    auto scanned = s.scan(from, [&](const std::string& key, std::string_view value) {
      chunk.emplace_back(key, std::string(value));
      return chunk.size() < batch;
    });
    if (!scanned) {
      if (scanned.err().code != make_error_code(errc::integrity_failure)) return scanned;
      spdlog::warn("storage layout upgrade: left in place under \"{}\": {}", from, scanned.err().message);
    }
    if (chunk.empty()) return ok_v;
    std::vector<operation> ops;
    ops.reserve(chunk.size() * 2);
    for (auto& [key, value] : chunk) {
      ops.push_back(operation::put(to + key.substr(from.size()), std::move(value)));
      ops.push_back(operation::remove(std::move(key)));
    }
    if (auto applied = s.apply(std::move(ops)); !applied) return applied;
  }
}

status rename_children(physical& s, const std::string& prefix, const rename_fn& rename, std::size_t batch) {
  auto kids = s.list(prefix);
  if (!kids) return std::move(kids).err();
  for (const auto& kid : *kids) {
    const bool folder = !kid.empty() && kid.back() == '/';
    const std::string_view name = folder ? std::string_view(kid).substr(0, kid.size() - 1) : std::string_view(kid);
    auto to = rename(name);
    if (!to) return std::move(to).err();
    if (!to->has_value() || **to == name) continue;
    if (folder) {
      if (auto moved = move_folder(s, prefix + kid, prefix + **to + "/", batch); !moved) return moved;
      continue;
    }
    auto value = s.get(prefix + kid);
    if (!value) {
      if (value.err().code != make_error_code(errc::integrity_failure)) return std::move(value).err();
      spdlog::warn("storage layout upgrade: left in place: {}", value.err().message);
      continue;
    }
    if (!value->has_value()) continue;
    std::vector<operation> ops;
    ops.push_back(operation::put(prefix + **to, std::move(**value)));
    ops.push_back(operation::remove(prefix + kid));
    if (auto applied = s.apply(std::move(ops)); !applied) return applied;
  }
  return ok_v;
}

}  // namespace credbroker::storage
