#include "api/auth_mounts.hpp"

#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {

std::string normalise_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (!p.empty() && p.back() != '/') p += '/';
  return p;
}
}  // namespace

status auth_mounts::load() {
  auto raw = store_.get(table_key);
  if (!raw) return std::move(raw).err();
  std::lock_guard lock(mu_);
  entries_.clear();
  if (raw->has_value()) {
    const auto j = nlohmann::json::parse(**raw, nullptr, false);
    if (!j.is_array()) return make_error(errc::internal, "the auth method table (core/auth) is damaged");
    for (const auto& e : j) {
      entry en{e.value("path", ""), e.value("type", ""), e.value("description", ""), e.value("accessor", ""),
               e.value("uuid", ""), e.value("default_ttl", std::int64_t{0}), e.value("max_ttl", std::int64_t{0})};
      if (en.path.empty() || en.uuid.empty()) continue;
      entries_[en.path] = en;
    }
  }
  for (const auto& [_, e] : entries_) mount_locked(e);
  return ok_v;
}

void auth_mounts::unload() {
  std::lock_guard lock(mu_);
  if (router_ != nullptr) {
    for (const auto& [path, _] : entries_) router_->remove_mount("auth/" + path);
  }
  entries_.clear();
}

status auth_mounts::save_locked() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [_, e] : entries_) {
    j.push_back({{"path", e.path}, {"type", e.type}, {"description", e.description}, {"accessor", e.accessor},
                 {"uuid", e.uuid}, {"default_ttl", e.default_ttl}, {"max_ttl", e.max_ttl}});
  }
  return store_.put(table_key, j.dump());
}

void auth_mounts::mount_locked(const entry& e) {
  if (router_ == nullptr || e.type != "approle") return;
  auto backend = std::make_shared<auth::approle_backend>(store_, tokens_, clock_, data_prefix + e.uuid + "/", e.path);
  router_->add_mount(approle_mount("auth/" + e.path, std::move(backend)));
}

status auth_mounts::enable(std::string path, const std::string& type, const std::string& description) {
  path = normalise_path(path);
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  if (type.empty()) return make_error(errc::invalid_request, "backend type must be specified as a string");
  if (type == "token") return make_error(errc::invalid_request, "token credential backend cannot be instantiated");
  if (type != "approle") return make_error(errc::invalid_request, "unknown auth method type: \"" + type + "\" (credbroker supports approle)");
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '/';
    if (!ok) return make_error(errc::invalid_request, "invalid path \"" + path + "\"");
  }
  std::lock_guard lock(mu_);
  if (path == "token/") return make_error(errc::invalid_request, "path is already in use at token/");
  for (const auto& [existing, _] : entries_) {
    if (path.rfind(existing, 0) == 0 || existing.rfind(path, 0) == 0) {
      return make_error(errc::invalid_request, "path is already in use at " + existing);
    }
  }
  entry e{path, type, description, "auth_" + type + "_" + random_alnum(8), random_uuid(), 0, 0};
  entries_[path] = e;
  if (auto s = save_locked(); !s) {
    entries_.erase(path);
    return s;
  }
  mount_locked(e);
  return ok_v;
}

status auth_mounts::disable(std::string path) {
  path = normalise_path(path);
  if (path == "token/") return make_error(errc::invalid_request, "token credential backend cannot be disabled");
  entry e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(path);
    if (it == entries_.end()) return ok_v;
    e = it->second;
    if (router_ != nullptr) router_->remove_mount("auth/" + path);
  }
  // Tokens first (a crash now leaves the mount in the table: disabling again finishes the job).
  if (auto s = tokens_.revoke_mount(path); !s) return s;
  auth::approle_backend data(store_, tokens_, clock_, data_prefix + e.uuid + "/", e.path);
  if (auto s = data.destroy_all(); !s) return s;
  std::lock_guard lock(mu_);
  entries_.erase(path);
  return save_locked();
}

nlohmann::json auth_mounts::describe_entry(const entry& e) {
  return nlohmann::json{{"type", e.type},
                        {"description", e.description},
                        {"accessor", e.accessor},
                        {"uuid", e.uuid},
                        {"config", {{"default_lease_ttl", e.default_ttl}, {"max_lease_ttl", e.max_ttl}, {"force_no_cache", false},
                                    {"token_type", "default-service"}}},
                        {"local", false},
                        {"seal_wrap", false},
                        {"external_entropy_access", false},
                        {"options", nullptr},
                        {"plugin_version", ""},
                        {"running_plugin_version", "builtin"},
                        {"running_sha256", ""},
                        {"deprecation_status", "supported"}};
}

namespace {
const char* const token_uuid = "00000000-0000-0000-0000-000000000000";
}

nlohmann::json auth_mounts::table() const {
  nlohmann::json out = nlohmann::json::object();
  out["token/"] = describe_entry({"token/", "token", "token based credentials", token_accessor_, token_uuid, 0, 0});
  std::lock_guard lock(mu_);
  for (const auto& [path, e] : entries_) out[path] = describe_entry(e);
  return out;
}

std::optional<nlohmann::json> auth_mounts::describe(std::string path) const {
  path = normalise_path(path);
  if (path == "token/") return describe_entry({"token/", "token", "token based credentials", token_accessor_, token_uuid, 0, 0});
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) return std::nullopt;
  return describe_entry(it->second);
}

std::string auth_mounts::mount_of(const std::string& path) const {
  if (path.rfind("token/", 0) == 0 || path == "token") return "token/";
  std::lock_guard lock(mu_);
  std::string best;
  for (const auto& [p, _] : entries_) {
    if ((path.rfind(p, 0) == 0 || path + "/" == p) && p.size() > best.size()) best = p;
  }
  return best;
}

status auth_mounts::tune(std::string path, const mount_tune& t) {
  path = normalise_path(path);
  if (path == "token/") {
    return make_error(errc::invalid_request, "tuning the token method is not supported by credbroker (its limits are the server's)");
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    return make_error(errc::invalid_request, "tune of path \"auth/" + path + "\" failed: no mount entry found");
  }
  entry e = it->second;
  if (t.default_ttl) e.default_ttl = t.default_ttl->count();
  if (t.max_ttl) e.max_ttl = t.max_ttl->count();
  if (e.max_ttl > 0 && e.default_ttl > e.max_ttl) {
    return make_error(errc::invalid_request, "backend max lease TTL of " + std::to_string(e.max_ttl) +
                                                 " would be less than backend default lease TTL of " +
                                                 std::to_string(e.default_ttl));
  }
  if (t.description) e.description = *t.description;
  const entry before = it->second;
  it->second = e;
  if (auto s = save_locked(); !s) {
    it->second = before;
    return s;
  }
  return ok_v;
}

std::optional<nlohmann::json> auth_mounts::read_tune(std::string path) const {
  auto d = describe(path);
  if (!d) return std::nullopt;
  return nlohmann::json{{"default_lease_ttl", (*d)["config"]["default_lease_ttl"]},
                        {"max_lease_ttl", (*d)["config"]["max_lease_ttl"]},
                        {"force_no_cache", false},
                        {"description", (*d)["description"]},
                        {"token_type", "default-service"}};
}

}  // namespace credbroker::api
