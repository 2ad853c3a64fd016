#include "api/auth_mounts.hpp"

#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {
constexpr const char* table_key = "core/auth";

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
               e.value("uuid", "")};
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
                 {"uuid", e.uuid}});
  }
  return store_.put(table_key, j.dump());
}

void auth_mounts::mount_locked(const entry& e) {
  if (router_ == nullptr || e.type != "approle") return;
  auto backend = std::make_shared<auth::approle_backend>(store_, tokens_, clock_, "auth/method/" + e.uuid + "/", e.path);
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
  entry e{path, type, description, "auth_" + type + "_" + random_alnum(8), random_uuid()};
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
  auth::approle_backend data(store_, tokens_, clock_, "auth/method/" + e.uuid + "/", e.path);
  if (auto s = data.destroy_all(); !s) return s;
  std::lock_guard lock(mu_);
  entries_.erase(path);
  return save_locked();
}

nlohmann::json auth_mounts::table() const {
  auto describe = [](const std::string& type, const std::string& description, const std::string& accessor,
                     const std::string& uuid) {
    return nlohmann::json{{"type", type},
                          {"description", description},
                          {"accessor", accessor},
                          {"uuid", uuid},
                          {"config", {{"default_lease_ttl", 0}, {"max_lease_ttl", 0}, {"force_no_cache", false},
                                      {"token_type", "default-service"}}},
                          {"local", false},
                          {"seal_wrap", false},
                          {"external_entropy_access", false},
                          {"options", nullptr},
                          {"plugin_version", ""},
                          {"running_plugin_version", "builtin"},
                          {"running_sha256", ""}};
  };
  nlohmann::json out = nlohmann::json::object();
  out["token/"] = describe("token", "token based credentials", token_accessor_, "00000000-0000-0000-0000-000000000000");
  std::lock_guard lock(mu_);
  for (const auto& [path, e] : entries_) out[path] = describe(e.type, e.description, e.accessor, e.uuid);
  return out;
}

std::vector<route> sys_auth_routes(auth_mounts& mounts) {
  std::vector<route> out;
  route list;
  list.pattern = "auth";
  list.operations[operation::read] = [&mounts](request&, const field_data&) {
    reply r = reply::with_data(mounts.table());
    r.inject_top_level = true;
    return r;
  };
  out.push_back(std::move(list));

  route one;
  one.pattern = "auth/*path";
  one.sudo = true;
  one.fields = {{"path", field_type::string},        {"type", field_type::string},
                {"description", field_type::string}, {"config", field_type::map},
                {"options", field_type::map},        {"local", field_type::boolean},
                {"seal_wrap", field_type::boolean},  {"plugin_name", field_type::string},
                {"plugin_version", field_type::string}};
  one.operations[operation::update] = [&mounts](request& req, const field_data& fd) {
    std::string type = fd.get_string("type").value_or("");
    if (type.empty()) type = fd.get_string("plugin_name").value_or("");
    if (auto s = mounts.enable(req.captures.at("path"), type, fd.get_string("description").value_or("")); !s) {
      return reply::fail(s.err());
    }
    return reply::empty();
  };
  one.operations[operation::remove] = [&mounts](request& req, const field_data&) {
    if (auto s = mounts.disable(req.captures.at("path")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  out.push_back(std::move(one));
  return out;
}

}  // namespace credbroker::api
