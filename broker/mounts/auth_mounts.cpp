#include "broker/mounts/auth_mounts.hpp"

#include "broker/core/random.hpp"
#include "broker/mounts/mount_path.hpp"

namespace credbroker::mounts {

status auth_mounts::store_rows(const mount_rows& next) const { return store_.put(table_key, encode_rows(next)); }

void auth_mounts::go_live(const mount_entry& e) {
  {
    std::lock_guard lock(rows_mu_);
    rows_[e.path] = e;
  }
  if (observer_ == nullptr || e.type != "approle") return;
  observer_->mounted(e.path, std::make_shared<auth::approle_backend>(store_, tokens_, clock_, data_prefix + e.uuid + "/", e.path));
}

void auth_mounts::take_down(const std::string& path) {
  if (observer_ != nullptr) observer_->unmounted(path);
  std::lock_guard lock(rows_mu_);
  rows_.erase(path);
}

status auth_mounts::load() {
  std::lock_guard writing(write_mu_);
  for (const auto& [path, _] : rows()) take_down(path);
  auto raw = store_.get(table_key);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  auto rows = decode_rows(**raw, "the auth method table (core/auth)");
  if (!rows) return std::move(rows).err();
  for (const auto& [_, e] : *rows) go_live(e);
  return ok_v;
}

void auth_mounts::unload() {
  std::lock_guard writing(write_mu_);
  for (const auto& [path, _] : rows()) take_down(path);
}

status auth_mounts::enable(std::string path, const std::string& type, const std::string& description) {
  path = normalise_mount_path(path);
  if (path.empty()) return make_error(errc::invalid_request, "path cannot be empty");
  if (type.empty()) return make_error(errc::invalid_request, "backend type must be specified as a string");
  if (type == "token") return make_error(errc::invalid_request, "token credential backend cannot be instantiated");
  if (type != "approle") return make_error(errc::invalid_request, "unknown auth method type: \"" + type + "\" (credbroker supports approle)");
  auto checked = checked_method_path(std::move(path));
  if (!checked) return std::move(checked).err();
  path = std::move(*checked);
  if (path == "token/") return make_error(errc::invalid_request, "path is already in use at token/");
  std::lock_guard writing(write_mu_);
  mount_rows next = rows();
  if (auto existing = overlapping(next, path)) {
    return make_error(errc::invalid_request, "path is already in use at " + *existing);
  }
  const mount_entry e{path, type, description, "auth_" + type + "_" + random_alnum(8), random_uuid(), 0, 0};
  next[path] = e;
  if (auto s = store_rows(next); !s) return s;
  go_live(e);
  return ok_v;
}

status auth_mounts::disable(std::string path) {
  path = normalise_mount_path(path);
  if (path == "token/") return make_error(errc::invalid_request, "token credential backend cannot be disabled");
  auto e = find(path);
  if (!e) return ok_v;
  // No login reaches the method from here on; if a step fails it is served again (its data may
  // be partly gone: disabling again finishes the job).
  if (observer_ != nullptr) observer_->unmounted(path);
  auto restore = [&](status s) {
    std::lock_guard writing(write_mu_);
    if (auto still = find(path)) go_live(*still);
    return s;
  };
  // Tokens first (a crash now leaves the row in the table: disabling again finishes the job).
  if (auto s = tokens_.revoke_mount(path); !s) return restore(s);
  auth::approle_backend data(store_, tokens_, clock_, data_prefix + e->uuid + "/", e->path);
  if (auto s = data.destroy_all(); !s) return restore(s);
  std::lock_guard writing(write_mu_);
  mount_rows next = rows();
  if (!next.erase(path)) return ok_v;  // disabled meanwhile
  if (auto s = store_rows(next); !s) {
    go_live(rows().at(path));
    return s;
  }
  take_down(path);
  return ok_v;
}

status auth_mounts::tune(std::string path, const mount_tune& t) {
  path = normalise_mount_path(path);
  if (path == "token/") {
    return make_error(errc::invalid_request, "tuning the token method is not supported by credbroker (its limits are the server's)");
  }
  std::lock_guard writing(write_mu_);
  mount_rows next = rows();
  auto it = next.find(path);
  if (it == next.end()) {
    return make_error(errc::invalid_request, "tune of path \"auth/" + path + "\" failed: no mount entry found");
  }
  mount_entry& e = it->second;  // a copy: the published row changes only once this is stored
  if (auto s = apply_tune(e, t); !s) return s;
  if (auto s = store_rows(next); !s) return s;
  std::lock_guard reading(rows_mu_);
  rows_[path] = e;
  return ok_v;
}

mount_rows auth_mounts::rows() const {
  std::lock_guard lock(rows_mu_);
  return rows_;
}

std::optional<mount_entry> auth_mounts::find(std::string path) const {
  path = normalise_mount_path(path);
  std::lock_guard lock(rows_mu_);
  auto it = rows_.find(path);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

std::string auth_mounts::mount_of(const std::string& path) const {
  if (path.rfind("token/", 0) == 0 || path == "token") return "token/";
  std::lock_guard lock(rows_mu_);
  return longest_mount(rows_, path);
}

}  // namespace credbroker::mounts
