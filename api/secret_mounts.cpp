#include "api/secret_mounts.hpp"

#include <spdlog/spdlog.h>

#include "api/sys_routes.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {
constexpr const char* table_key = "core/mounts";

std::string normalise_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (!p.empty() && p.back() != '/') p += '/';
  return p;
}

bool reserved(const std::string& p) {
  for (const char* r : {"sys/", "auth/", "cubbyhole/", "identity/"}) {
    if (p.rfind(r, 0) == 0) return true;
  }
  return false;
}
}  // namespace

leases::ttl_limits secret_mounts::limits_of(const std::string& path) const {
  leases::ttl_limits l = s_.system_limits;
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(path); it != entries_.end()) {
    if (it->second.max_ttl > 0) l.max_ttl = std::min(l.max_ttl, std::chrono::seconds(it->second.max_ttl));
    if (it->second.default_ttl > 0) l.default_ttl = std::chrono::seconds(it->second.default_ttl);
    if (l.default_ttl > l.max_ttl) l.default_ttl = l.max_ttl;
  }
  return l;
}

secret_mounts::~secret_mounts() {
  std::lock_guard lock(mu_);
  for (const auto& [path, _] : entries_) {
    if (auto e = s_.engines.find_for_lease(path); e && e->mount() == path) {
      e->close_all();
      s_.engines.remove(path);
    }
  }
}

status secret_mounts::load() {
  auto raw = s_.store.get(table_key);
  if (!raw) return std::move(raw).err();
  std::lock_guard lock(mu_);
  entries_.clear();
  if (raw->has_value()) {
    const auto j = nlohmann::json::parse(**raw, nullptr, false);
    if (!j.is_array()) return make_error(errc::internal, "the mount table (core/mounts) is damaged");
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

void secret_mounts::unload() {
  std::lock_guard lock(mu_);
  for (const auto& [path, _] : entries_) {
    if (router_ != nullptr) router_->remove_mount(path);
    if (auto e = s_.engines.find_for_lease(path); e && e->mount() == path) {
      e->close_all();
      s_.engines.remove(path);
    }
  }
  entries_.clear();
}

void secret_mounts::mount_locked(const entry& e) {
  if (e.type != "database") return;
  const std::string path = e.path;
  auto engine = std::make_shared<engine::database_engine>(
      s_.store, s_.plugins, s_.leases, s_.passwords, s_.clk, path, "logical/" + e.uuid + "/",
      [this, path] { return limits_of(path); }, s_.rotations);
  s_.engines.add(engine);
  if (router_ != nullptr) router_->add_mount(database_mount(path, engine));
}

status secret_mounts::save_locked() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [_, e] : entries_) {
    j.push_back({{"path", e.path}, {"type", e.type}, {"description", e.description}, {"accessor", e.accessor},
                 {"uuid", e.uuid}, {"default_ttl", e.default_ttl}, {"max_ttl", e.max_ttl}});
  }
  return s_.store.put(table_key, j.dump());
}

status secret_mounts::enable(std::string path, const std::string& type, const std::string& description,
                             std::chrono::seconds default_ttl, std::chrono::seconds max_ttl) {
  path = normalise_path(path);
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  if (reserved(path)) return make_error(errc::invalid_request, "cannot mount under a reserved path: " + path);
  if (type.empty()) return make_error(errc::invalid_request, "backend type must be specified as a string");
  if (type != "database") {
    return make_error(errc::invalid_request, "unknown secrets engine type \"" + type + "\" (credbroker serves \"database\")");
  }
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '/';
    if (!ok) return make_error(errc::invalid_request, "invalid path \"" + path + "\"");
  }
  std::lock_guard lock(mu_);
  for (const auto& [existing, _] : entries_) {
    if (path.rfind(existing, 0) == 0 || existing.rfind(path, 0) == 0) {
      return make_error(errc::invalid_request, "path is already in use at " + existing);
    }
  }
  entry e{path, type, description, "database_" + random_alnum(8), random_uuid(), default_ttl.count(), max_ttl.count()};
  entries_[path] = e;
  if (auto s = save_locked(); !s) {
    entries_.erase(path);
    return s;
  }
  mount_locked(e);
  return ok_v;
}

status secret_mounts::disable(std::string path) {
  path = normalise_path(path);
  {
    std::lock_guard lock(mu_);
    if (!entries_.contains(path)) return ok_v;
  }
  // Leases first: a mount whose users cannot all be dropped stays, so none is orphaned.
  if (auto s = s_.leases.revoke_prefix(path); !s) {
    return make_error(errc::internal, "failed to revoke the leases of " + path + ": " + s.err().message);
  }
  auto engine = s_.engines.find_for_lease(path);
  std::lock_guard lock(mu_);
  if (router_ != nullptr) router_->remove_mount(path);
  if (engine && engine->mount() == path) {
    if (auto s = engine->destroy_all(); !s) return s;
    s_.engines.remove(path);
  }
  entries_.erase(path);
  return save_locked();
}

status secret_mounts::tune(std::string path, std::optional<std::chrono::seconds> default_ttl,
                           std::optional<std::chrono::seconds> max_ttl, std::optional<std::string> description) {
  path = normalise_path(path);
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) return make_error(errc::invalid_request, "cannot tune '" + path + "': no mount at this path");
  entry e = it->second;
  if (default_ttl) e.default_ttl = default_ttl->count();
  if (max_ttl) e.max_ttl = max_ttl->count();
  if (e.max_ttl > 0 && e.default_ttl > e.max_ttl) {
    return make_error(errc::invalid_request, "default lease TTL cannot be greater than max lease TTL");
  }
  if (e.max_ttl > s_.system_limits.max_ttl.count()) {
    return make_error(errc::invalid_request, "max lease TTL cannot be greater than the server's max_lease_ttl");
  }
  if (description) e.description = *description;
  const entry before = it->second;
  it->second = e;
  if (auto s = save_locked(); !s) {
    it->second = before;
    return s;
  }
  return ok_v;
}

std::optional<nlohmann::json> secret_mounts::read_tune(std::string path) const {
  path = normalise_path(path);
  {
    std::lock_guard lock(mu_);
    if (!entries_.contains(path)) return std::nullopt;
  }
  const auto l = limits_of(path);
  std::lock_guard lock(mu_);
  const entry& e = entries_.at(path);
  return nlohmann::json{{"default_lease_ttl", l.default_ttl.count()}, {"max_lease_ttl", l.max_ttl.count()},
                        {"force_no_cache", false}, {"description", e.description}};
}

nlohmann::json secret_mounts::table() const {
  auto describe = [](const std::string& type, const std::string& description, const std::string& accessor,
                     const std::string& uuid, std::int64_t dttl, std::int64_t mttl) {
    return nlohmann::json{{"type", type},
                          {"description", description},
                          {"accessor", accessor},
                          {"uuid", uuid},
                          {"config", {{"default_lease_ttl", dttl}, {"max_lease_ttl", mttl}, {"force_no_cache", false}}},
                          {"local", false},
                          {"seal_wrap", false},
                          {"external_entropy_access", false},
                          {"options", nullptr},
                          {"plugin_version", ""},
                          {"running_plugin_version", type == "system" ? "" : "builtin"},
                          {"running_sha256", ""}};
  };
  nlohmann::json out = nlohmann::json::object();
  out["sys/"] = describe("system", "system endpoints used for control, policy and debugging", "system_builtin",
                         "00000000-0000-0000-0000-000000000001", 0, 0);
  std::lock_guard lock(mu_);
  for (const auto& [path, e] : entries_) out[path] = describe(e.type, e.description, e.accessor, e.uuid, e.default_ttl, e.max_ttl);
  return out;
}

void secret_mounts::resolve_pending() {
  std::size_t kept = 0, forgotten = 0, left = 0;
  for (const auto& id : s_.leases.take_pending()) {
    auto l = s_.leases.lookup(id);
    if (!l || l->state != leases::lease_state::pending) continue;
    auto e = s_.engines.find_for_lease(id);
    if (!e) {
      ++left;
      continue;
    }
    auto s = e->resolve_pending(*l);
    if (!s) {
      ++left;  // the database is unreachable: the lease is revoked at its expiry (delete is idempotent)
      spdlog::warn("pending lease {} could not be settled: {}", id, s.err().message);
    } else if (*s) {
      ++kept;
    } else {
      ++forgotten;
    }
  }
  spdlog::info("pending leases settled: {} kept (user exists), {} forgotten (no user), {} left for their expiry", kept,
               forgotten, left);
}

void secret_mounts::recover_rotations() {
  for (const auto& e : s_.engines.all()) e->recover_rotations();
}

void secret_mounts::reconcile_due() {
  for (const auto& e : s_.engines.all()) e->reconcile_due();
}

std::vector<route> sys_mount_routes(secret_mounts& mounts) {
  std::vector<route> out;
  route list;
  list.pattern = "mounts";
  list.operations[operation::read] = [&mounts](request&, const field_data&) {
    reply r = reply::with_data(mounts.table());
    r.inject_top_level = true;
    return r;
  };
  out.push_back(std::move(list));

  route one;
  one.pattern = "mounts/*path";
  one.warn_unknown_fields = false;  // node-vault sends its mount_point in the body
  one.fields = {{"path", field_type::string},           {"type", field_type::string},
                {"description", field_type::string},    {"config", field_type::map},
                {"options", field_type::map},           {"local", field_type::boolean},
                {"seal_wrap", field_type::boolean},     {"plugin_name", field_type::string},
                {"default_lease_ttl", field_type::string}, {"max_lease_ttl", field_type::string}};
  auto is_tune = [](const std::string& p, std::string& mount) {
    constexpr std::string_view suffix = "/tune";
    if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      mount = p.substr(0, p.size() - suffix.size());
      return true;
    }
    return false;
  };
  // "system" and "" mean 0 (use the server's), as in Vault's tune.
  auto ttl_of = [](const nlohmann::json& v) -> result<std::optional<std::chrono::seconds>> {
    if (v.is_null()) return std::optional<std::chrono::seconds>();
    if (v.is_string() && (v.get<std::string>() == "system" || v.get<std::string>().empty())) {
      return std::optional<std::chrono::seconds>(std::chrono::seconds(0));
    }
    auto d = parse_duration_value(v);
    if (!d) return std::move(d).err();
    return std::optional<std::chrono::seconds>(*d);
  };
  one.operations[operation::read] = [&mounts, is_tune](request& req, const field_data&) {
    std::string mount;
    if (!is_tune(req.captures.at("path"), mount)) return reply::fail(405, multierror_text("unsupported operation"));
    auto t = mounts.read_tune(mount);
    if (!t) return reply::fail(400, "cannot fetch sysview for path \"" + mount + "\"");
    reply r = reply::with_data(*t);
    r.inject_top_level = true;
    return r;
  };
  one.operations[operation::update] = [&mounts, is_tune, ttl_of](request& req, const field_data& fd) {
    std::string mount;
    const nlohmann::json& raw = fd.raw();
    if (is_tune(req.captures.at("path"), mount)) {
      auto d = ttl_of(raw.value("default_lease_ttl", nlohmann::json(nullptr)));
      if (!d) return reply::fail(400, "invalid default_lease_ttl: " + d.err().message);
      auto m = ttl_of(raw.value("max_lease_ttl", nlohmann::json(nullptr)));
      if (!m) return reply::fail(400, "invalid max_lease_ttl: " + m.err().message);
      if (auto s = mounts.tune(mount, *d, *m, fd.get_string("description")); !s) return reply::fail(s.err());
      return reply::empty();
    }
    std::string type = fd.get_string("type").value_or("");
    if (type.empty()) type = fd.get_string("plugin_name").value_or("");
    std::chrono::seconds dttl{0}, mttl{0};
    if (auto cfg = fd.get_json("config"); cfg && cfg->is_object()) {
      auto d = ttl_of(cfg->value("default_lease_ttl", nlohmann::json(nullptr)));
      if (!d) return reply::fail(400, "invalid default_lease_ttl: " + d.err().message);
      auto m = ttl_of(cfg->value("max_lease_ttl", nlohmann::json(nullptr)));
      if (!m) return reply::fail(400, "invalid max_lease_ttl: " + m.err().message);
      dttl = d->value_or(std::chrono::seconds(0));
      mttl = m->value_or(std::chrono::seconds(0));
    }
    if (auto s = mounts.enable(req.captures.at("path"), type, fd.get_string("description").value_or(""), dttl, mttl); !s) {
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
