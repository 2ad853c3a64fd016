#include "api/secret_mounts.hpp"

#include <spdlog/spdlog.h>

#include "api/sys_routes.hpp"
#include "broker/core/backoff.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {

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

result<std::string> checked_mount_path(std::string path) {
  path = normalise_path(std::move(path));
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  if (reserved(path)) return make_error(errc::invalid_request, "cannot mount under a reserved path: " + path);
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '/';
    if (!ok) return make_error(errc::invalid_request, "invalid path \"" + path + "\"");
  }
  return path;
}

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
  for (const auto& [path, _] : entries_) unmount_locked(path);
  entries_.clear();
  std::lock_guard settling(settle_mu_);
  unsettled_.clear();  // still pending in storage: the next unseal's restore finds them again
}

void secret_mounts::mount_locked(const entry& e) {
  if (e.type != "database") return;
  const std::string path = e.path;
  auto engine = std::make_shared<engine::database_engine>(
      s_.store, s_.plugins, s_.leases, s_.passwords, s_.clk, path, "logical/" + e.uuid + "/",
      [this, path] { return limits_of(path); }, s_.rotations, s_.boot_id);
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
  auto checked = checked_mount_path(std::move(path));
  if (!checked) return std::move(checked).err();
  path = std::move(*checked);
  if (type.empty()) return make_error(errc::invalid_request, "backend type must be specified as a string");
  if (type != "database") {
    return make_error(errc::invalid_request, "unknown secrets engine type \"" + type + "\" (credbroker serves \"database\")");
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

status secret_mounts::tune(std::string path, const mount_tune& t) {
  path = normalise_path(path);
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    return make_error(errc::invalid_request, "tune of path \"" + path + "\" failed: no mount entry found");
  }
  entry e = it->second;
  if (t.default_ttl) e.default_ttl = t.default_ttl->count();
  if (t.max_ttl) e.max_ttl = t.max_ttl->count();
  if (e.max_ttl > 0 && e.default_ttl > e.max_ttl) {
    return make_error(errc::invalid_request, "backend max lease TTL of " + std::to_string(e.max_ttl) +
                                                 " would be less than backend default lease TTL of " +
                                                 std::to_string(e.default_ttl));
  }
  if (e.max_ttl > s_.system_limits.max_ttl.count()) {
    return make_error(errc::invalid_request, "max lease TTL cannot be greater than the server's max_lease_ttl");
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

nlohmann::json secret_mounts::describe_entry(const entry& e) {
  return nlohmann::json{{"type", e.type},
                        {"description", e.description},
                        {"accessor", e.accessor},
                        {"uuid", e.uuid},
                        {"config", {{"default_lease_ttl", e.default_ttl}, {"max_lease_ttl", e.max_ttl}, {"force_no_cache", false}}},
                        {"local", false},
                        {"seal_wrap", false},
                        {"external_entropy_access", false},
                        {"options", nullptr},
                        {"plugin_version", ""},
                        {"running_plugin_version", e.type == "system" ? "" : "builtin"},
                        {"running_sha256", ""},
                        {"deprecation_status", e.type == "system" ? "" : "supported"}};
}

namespace {
const char* const system_description = "system endpoints used for control, policy and debugging";
}

std::optional<nlohmann::json> secret_mounts::describe(std::string path) const {
  path = normalise_path(path);
  if (path == "sys/") {
    return describe_entry({"sys/", "system", system_description, "system_builtin", "00000000-0000-0000-0000-000000000001", 0, 0});
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) return std::nullopt;
  return describe_entry(it->second);
}

std::string secret_mounts::mount_of(const std::string& path) const {
  if (path.rfind("sys/", 0) == 0 || path == "sys") return "sys/";
  std::lock_guard lock(mu_);
  std::string best;
  for (const auto& [p, _] : entries_) {
    if ((path.rfind(p, 0) == 0 || path + "/" == p) && p.size() > best.size()) best = p;
  }
  return best;
}

nlohmann::json secret_mounts::table() const {
  nlohmann::json out = nlohmann::json::object();
  out["sys/"] = *describe("sys/");
  std::lock_guard lock(mu_);
  for (const auto& [path, e] : entries_) out[path] = describe_entry(e);
  return out;
}

status secret_mounts::remount(std::string from, std::string to) {
  from = normalise_path(from);
  auto checked = checked_mount_path(std::move(to));
  if (!checked) return std::move(checked).err();
  to = std::move(*checked);
  {
    std::lock_guard lock(mu_);
    if (!entries_.contains(from)) return make_error(errc::invalid_request, "no matching mount at \"" + from + "\"");
    for (const auto& [existing, _] : entries_) {
      if (existing != from && (to.rfind(existing, 0) == 0 || existing.rfind(to, 0) == 0)) {
        return make_error(errc::invalid_request, "path already in use at \"" + existing + "\"");
      }
    }
  }
  std::size_t held = 0;
  if (auto s = s_.leases.for_each(from, [&](const leases::lease&) { ++held; }); !s) return s;
  if (held > 0) {
    return make_error(errc::invalid_request, "cannot move \"" + from + "\": it holds " + std::to_string(held) +
                                                 " lease(s), and credbroker does not re-key leases; revoke them first");
  }
  std::unique_lock lock(mu_);
  auto it = entries_.find(from);
  if (it == entries_.end()) return make_error(errc::invalid_request, "no matching mount at \"" + from + "\"");
  entry e = it->second;
  e.path = to;
  unmount_locked(from);
  entries_.erase(it);
  entries_[to] = e;
  if (auto s = save_locked(); !s) {
    entries_.erase(to);
    e.path = from;
    entries_[from] = e;
    mount_locked(e);
    return s;
  }
  mount_locked(e);
  lock.unlock();
  // The engine under its new path schedules its static roles and root rotations again.
  if (auto moved = s_.engines.find_for_lease(to); moved && moved->mount() == to) moved->recover_rotations();
  return ok_v;
}

void secret_mounts::unmount_locked(const std::string& path) {
  if (router_ != nullptr) router_->remove_mount(path);
  if (auto e = s_.engines.find_for_lease(path); e && e->mount() == path) {
    e->close_all();
    s_.engines.remove(path);
  }
}

secret_mounts::settle_counts secret_mounts::settle(const std::vector<std::string>& ids) {
  settle_counts out;
  for (const auto& id : ids) {
    auto l = s_.leases.lookup(id);
    if (!l) {
      if (l.err().code != make_error_code(errc::lease_not_found)) out.left.push_back(id);
      continue;  // not found: revoked meanwhile
    }
    if (l->state != leases::lease_state::pending) continue;
    auto e = s_.engines.find_for_lease(id);
    if (!e) {
      out.left.push_back(id);
      continue;
    }
    auto s = e->resolve_pending(*l);
    if (!s) {
      out.left.push_back(id);  // stays pending; tried again later and, at its expiry, revoked
      spdlog::warn("pending lease {} could not be settled: {}", id, s.err().message);
    } else if (*s) {
      ++out.kept;
    } else {
      ++out.forgotten;
    }
  }
  return out;
}

void secret_mounts::resolve_pending() {
  auto r = settle(s_.leases.take_pending());
  spdlog::info("pending leases settled: {} kept (user exists), {} forgotten (no user), {} left (tried again later)",
               r.kept, r.forgotten, r.left.size());
  std::lock_guard lock(settle_mu_);
  unsettled_.insert(unsettled_.end(), r.left.begin(), r.left.end());
  settle_attempts_ = 1;
  next_settle_ = s_.clk.now() + doubling_backoff(std::chrono::seconds(5), std::chrono::minutes(5), settle_attempts_);
}

void secret_mounts::recover_rotations() {
  for (const auto& e : s_.engines.all()) e->recover_rotations();
}

void secret_mounts::reconcile_due() {
  std::vector<std::string> due;
  {
    std::lock_guard lock(settle_mu_);
    if (!unsettled_.empty() && s_.clk.now() >= next_settle_) due.swap(unsettled_);
  }
  if (!due.empty()) {
    auto r = settle(due);
    spdlog::info("pending leases retried: {} kept (user exists), {} forgotten (no user), {} left", r.kept,
                 r.forgotten, r.left.size());
    std::lock_guard lock(settle_mu_);
    unsettled_.insert(unsettled_.end(), r.left.begin(), r.left.end());
    ++settle_attempts_;
    next_settle_ = s_.clk.now() + doubling_backoff(std::chrono::seconds(5), std::chrono::minutes(5), settle_attempts_);
  }
  for (const auto& e : s_.engines.all()) e->reconcile_due();
}

}  // namespace credbroker::api
