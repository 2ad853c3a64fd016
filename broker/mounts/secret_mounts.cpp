#include "broker/mounts/secret_mounts.hpp"

#include <spdlog/spdlog.h>

#include "broker/core/random.hpp"
#include "broker/mounts/mount_path.hpp"

namespace credbroker::mounts {
namespace {

const char* const table_name = "the mount table (core/mounts)";

void close_engines(const std::vector<std::shared_ptr<engine::database_engine>>& engines) {
  for (const auto& e : engines) {
    if (e) e->close_all();
  }
}
}  // namespace

secret_mounts::~secret_mounts() {
  std::vector<std::shared_ptr<engine::database_engine>> closing;
  {
    std::lock_guard writing(write_mu_);
    std::lock_guard reading(rows_mu_);
    for (const auto& [path, _] : rows_) {
      if (auto e = s_.engines.find_for_lease(path); e && e->mount() == path) {
        s_.engines.remove(path);
        closing.push_back(std::move(e));
      }
    }
  }
  close_engines(closing);
}

mount_rows secret_mounts::snapshot() const {
  std::lock_guard lock(rows_mu_);
  mount_rows out;
  for (const auto& [path, r] : rows_) out[path] = r.entry;
  return out;
}

status secret_mounts::store_rows(const mount_rows& next) const { return s_.store.put(table_key, encode_rows(next)); }

void secret_mounts::go_live(const mount_entry& e) {
  auto limits = std::make_shared<mount_limits>(s_.system_limits, e.default_ttl, e.max_ttl);
  {
    std::lock_guard lock(rows_mu_);
    rows_[e.path] = row{e, limits};
  }
  if (e.type != "database") return;
  auto engine = std::make_shared<engine::database_engine>(
      s_.store, s_.plugins, s_.leases, s_.passwords, s_.clk, e.path, "logical/" + e.uuid + "/",
      [limits] { return limits->effective(); }, s_.rotations, s_.boot_id);
  s_.engines.add(engine);
  if (observer_ != nullptr) observer_->mounted(e.path, engine);
}

std::shared_ptr<engine::database_engine> secret_mounts::take_down(const std::string& path) {
  if (observer_ != nullptr) observer_->unmounted(path);
  {
    std::lock_guard lock(rows_mu_);
    rows_.erase(path);
  }
  auto e = s_.engines.find_for_lease(path);
  if (!e || e->mount() != path) return nullptr;
  s_.engines.remove(path);
  return e;
}

status secret_mounts::load() {
  std::vector<std::shared_ptr<engine::database_engine>> closing;
  status out = ok_v;
  {
    std::lock_guard writing(write_mu_);
    for (const auto& [path, _] : snapshot()) closing.push_back(take_down(path));
    auto raw = s_.store.get(table_key);
    if (!raw) {
      out = std::move(raw).err();
    } else if (raw->has_value()) {
      auto rows = decode_rows(**raw, table_name);
      if (!rows) {
        out = std::move(rows).err();
      } else {
        for (const auto& [_, e] : *rows) go_live(e);
      }
    }
  }
  close_engines(closing);
  return out;
}

void secret_mounts::unload() {
  std::vector<std::shared_ptr<engine::database_engine>> closing;
  {
    std::lock_guard writing(write_mu_);
    for (const auto& [path, _] : snapshot()) closing.push_back(take_down(path));
  }
  close_engines(closing);
  settler_.clear();
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
  std::lock_guard writing(write_mu_);
  mount_rows next = snapshot();
  if (auto existing = overlapping(next, path)) {
    return make_error(errc::invalid_request, "path is already in use at " + *existing);
  }
  const mount_entry e{path, type, description, "database_" + random_alnum(8), random_uuid(), default_ttl.count(),
                      max_ttl.count()};
  next[path] = e;
  if (auto s = store_rows(next); !s) return s;
  go_live(e);
  return ok_v;
}

status secret_mounts::disable(std::string path) {
  path = normalise_mount_path(path);
  if (!find(path)) return ok_v;
  // Leases first, with no lock: a mount whose users cannot all be dropped stays, so none is orphaned.
  if (auto s = s_.leases.revoke_prefix(path); !s) {
    return make_error(errc::internal, "failed to revoke the leases of " + path + ": " + s.err().message);
  }
  std::shared_ptr<engine::database_engine> engine;
  {
    std::lock_guard writing(write_mu_);
    mount_rows next = snapshot();
    if (!next.contains(path)) return ok_v;  // disabled meanwhile
    // No request reaches the mount from here on; if a step fails it is served again as it is.
    auto live = s_.engines.find_for_lease(path);
    if (live && live->mount() != path) live = nullptr;
    if (observer_ != nullptr) observer_->unmounted(path);
    auto restore = [&](status s) {
      if (observer_ != nullptr && live) observer_->mounted(path, live);
      return s;
    };
    if (live) {
      if (auto s = live->destroy_all(); !s) return restore(s);
    }
    next.erase(path);
    if (auto s = store_rows(next); !s) return restore(s);
    engine = take_down(path);
  }
  if (engine) engine->close_all();
  return ok_v;
}

status secret_mounts::tune(std::string path, const mount_tune& t) {
  path = normalise_mount_path(path);
  std::lock_guard writing(write_mu_);
  mount_rows next = snapshot();
  auto it = next.find(path);
  if (it == next.end()) {
    return make_error(errc::invalid_request, "tune of path \"" + path + "\" failed: no mount entry found");
  }
  mount_entry& e = it->second;  // a copy: the published row changes only once this is stored
  if (auto s = apply_tune(e, t); !s) return s;
  if (e.max_ttl > s_.system_limits.max_ttl.count()) {
    return make_error(errc::invalid_request, "max lease TTL cannot be greater than the server's max_lease_ttl");
  }
  if (auto s = store_rows(next); !s) return s;
  std::lock_guard reading(rows_mu_);
  row& live = rows_.at(path);
  live.entry = e;
  live.limits->set(e.default_ttl, e.max_ttl);
  return ok_v;
}

status secret_mounts::remount(std::string from, std::string to) {
  from = normalise_mount_path(from);
  auto checked = checked_mount_path(std::move(to));
  if (!checked) return std::move(checked).err();
  to = std::move(*checked);
  auto in_use = [&](mount_rows rows) -> status {
    if (rows.erase(from) == 0) return make_error(errc::invalid_request, "no matching mount at \"" + from + "\"");
    if (auto existing = overlapping(rows, to)) {
      return make_error(errc::invalid_request, "path already in use at \"" + *existing + "\"");
    }
    return ok_v;
  };
  if (auto s = in_use(snapshot()); !s) return s;
  std::size_t held = 0;
  if (auto s = s_.leases.for_each(from, [&](const leases::lease&) { ++held; }); !s) return s;
  if (held > 0) {
    return make_error(errc::invalid_request, "cannot move \"" + from + "\": it holds " + std::to_string(held) +
                                                 " lease(s), and credbroker does not re-key leases; revoke them first");
  }
  std::shared_ptr<engine::database_engine> old;
  {
    std::lock_guard writing(write_mu_);
    mount_rows next = snapshot();
    if (auto s = in_use(next); !s) return s;
    mount_entry e = next.at(from);
    e.path = to;
    next.erase(from);
    next[to] = e;
    if (auto s = store_rows(next); !s) return s;
    old = take_down(from);
    go_live(e);
  }
  if (old) old->close_all();
  // The engine under its new path schedules its static roles and root rotations again.
  if (auto moved = s_.engines.find_for_lease(to); moved && moved->mount() == to) moved->recover_rotations();
  return ok_v;
}

mount_rows secret_mounts::rows() const { return snapshot(); }

std::optional<mount_entry> secret_mounts::find(std::string path) const {
  path = normalise_mount_path(path);
  std::lock_guard lock(rows_mu_);
  auto it = rows_.find(path);
  if (it == rows_.end()) return std::nullopt;
  return it->second.entry;
}

std::optional<leases::ttl_limits> secret_mounts::limits_of(std::string path) const {
  path = normalise_mount_path(path);
  std::lock_guard lock(rows_mu_);
  auto it = rows_.find(path);
  if (it == rows_.end()) return std::nullopt;
  return it->second.limits->effective();
}

std::string secret_mounts::mount_of(const std::string& path) const {
  if (path.rfind("sys/", 0) == 0 || path == "sys") return "sys/";
  std::lock_guard lock(rows_mu_);
  return longest_mount(rows_, path);
}

void secret_mounts::recover_rotations() {
  for (const auto& e : s_.engines.all()) e->recover_rotations();
}

void secret_mounts::reconcile_due() {
  settler_.retry_due();
  for (const auto& e : s_.engines.all()) e->reconcile_due();
}

}  // namespace credbroker::mounts
