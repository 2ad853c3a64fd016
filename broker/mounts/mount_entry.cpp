#include "broker/mounts/mount_entry.hpp"

#include <nlohmann/json.hpp>

namespace credbroker::mounts {

std::string encode_rows(const mount_rows& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [_, e] : rows) {
    j.push_back({{"path", e.path}, {"type", e.type}, {"description", e.description}, {"accessor", e.accessor},
                 {"uuid", e.uuid}, {"default_ttl", e.default_ttl}, {"max_ttl", e.max_ttl}});
  }
  return j.dump();
}

result<mount_rows> decode_rows(const std::string& text, const std::string& what) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return make_error(errc::internal, what + " is damaged");
  mount_rows rows;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    mount_entry en{e.value("path", ""), e.value("type", ""), e.value("description", ""), e.value("accessor", ""),
                   e.value("uuid", ""), e.value("default_ttl", std::int64_t{0}), e.value("max_ttl", std::int64_t{0})};
    if (en.path.empty() || en.uuid.empty()) continue;
    rows[en.path] = en;
  }
  return rows;
}

status apply_tune(mount_entry& e, const mount_tune& t) {
  if (t.default_ttl) e.default_ttl = t.default_ttl->count();
  if (t.max_ttl) e.max_ttl = t.max_ttl->count();
  if (e.max_ttl > 0 && e.default_ttl > e.max_ttl) {
    return make_error(errc::invalid_request, "backend max lease TTL of " + std::to_string(e.max_ttl) +
                                                 " would be less than backend default lease TTL of " +
                                                 std::to_string(e.default_ttl));
  }
  if (t.description) e.description = *t.description;
  return ok_v;
}

}  // namespace credbroker::mounts
