#include "broker/engine/static_rotation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "broker/core/crash_point.hpp"
#include "broker/engine/rotation_scheduler.hpp"
#include "broker/engine/rotation_timing.hpp"

namespace credbroker::engine {

static_rotation::static_rotation(storage::physical& store, static_role_store& statics, role_store& roles,
                                 connections& conns, password_policies& passwords, const clock& clk, std::string mount,
                                 rotation_scheduler* rotations, std::function<std::weak_ptr<const void>()> owner)
    : store_(store),
      statics_(statics),
      roles_(roles),
      conns_(conns),
      passwords_(passwords),
      clock_(clk),
      mount_(std::move(mount)),
      rotations_(rotations),
      owner_(std::move(owner)) {}

result<std::optional<static_role>> static_rotation::read(const std::string& name) {
  auto l = statics_.lock(name);
  std::shared_lock reading(*l);
  return statics_.load(name);
}

result<static_role> static_rotation::merged(const static_role_update& u, const std::optional<static_role>& existing,
                                            bool create) {
  static_role r = existing.value_or(static_role{});
  r.name = u.name;
  if (u.db_name) r.db_name = *u.db_name;
  if (r.db_name.empty()) return make_error(errc::invalid_request, "database name is a required field");
  if (u.username) {
    if (!create && *u.username != r.username) return make_error(errc::invalid_request, "cannot update static account username");
    r.username = *u.username;
  }
  if (r.username.empty()) return make_error(errc::invalid_request, "username is a required field to create a static account");
  if (auto s = apply_static_rotation_fields(u, create, r.rotation); !s) return std::move(s).err();
  if (u.rotation_statements) r.rotation_statements = *u.rotation_statements;
  std::erase_if(r.rotation_statements, [](const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; });
  if (u.credential_type) r.credential_type = u.credential_type->empty() ? "password" : *u.credential_type;
  if (r.credential_type != "password") {
    return make_error(errc::invalid_request, "invalid credential_type \"" + r.credential_type + "\"");
  }
  if (u.credential_config) r.credential_config = *u.credential_config;
  return r;
}

result<std::vector<std::string>> static_rotation::write(static_role_update u) {
  auto l = statics_.lock(u.name);
  std::unique_lock writing(*l);
  auto existing = statics_.load(u.name);
  if (!existing) return std::move(existing).err();
  const bool create = !existing->has_value();
  if (!create && u.skip_import_rotation) return make_error(errc::invalid_request, "skip_import_rotation has no effect on updates");
  if (create) {
    if (auto dyn = roles_.read(u.name); dyn && dyn->has_value()) {
      return make_error(errc::invalid_request, "Role and Static Role names must be unique");
    }
  }
  auto m = merged(u, *existing, create);
  if (!m) return std::move(m).err();
  static_role& r = *m;
  auto cfg = conns_.must(r.db_name);
  if (!cfg) return std::move(cfg).err();
  std::vector<std::string> warnings;
  conns_.add_policy_warnings(r.db_name, r.credential_config, warnings);
  if (create && u.skip_import_rotation.value_or((*cfg)->skip_static_role_import_rotation)) {
    // Imported as it is: the first rotation comes at the end of the period (or the next tick).
    if (u.password && !u.password->empty()) {
      r.password = *u.password;
    } else {
      warnings.emplace_back("skip_import_rotation: the account's current password was not given (\"password\"), so "
                            "static-creds answers an empty password until the first rotation");
    }
    r.rotation.next = next_rotation_time(r.rotation, clock_.now());
    if (auto s = statics_.store(r); !s) return std::move(s).err();
    schedule(r);
    return warnings;
  }
  if (create) {
    // Vault must know the password: rotate it now; nothing is stored if that fails.
    if (auto s = rotate_locked(r, "create"); !s) return std::move(s).err();
    return warnings;
  }
  r.rotation.next = next_rotation_time(r.rotation, r.rotation.last == time_point{} ? clock_.now() : r.rotation.last);
  if (auto s = statics_.store(r); !s) return std::move(s).err();
  schedule(r);
  return warnings;
}

status static_rotation::remove(const std::string& name) {
  auto l = statics_.lock(name);
  std::unique_lock writing(*l);
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(statics_.key(name)));
  ops.push_back(storage::operation::remove(statics_.wal_key(name)));
  if (auto s = store_.apply(std::move(ops)); !s) return s;
  if (rotations_ != nullptr) rotations_->cancel(mount_ + "|static|" + name);
  return ok_v;
}

result<static_role> static_rotation::creds(const std::string& name) {
  auto l = statics_.lock(name);
  std::shared_lock reading(*l);  // never between a database change and its store
  auto r = statics_.load(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return make_error(errc::invalid_request, "unknown role: " + name);
  auto cfg = conns_.must((*r)->db_name);
  if (!cfg) return std::move(cfg).err();
  const auto& allowed = (*cfg)->allowed_roles;
  if (!std::any_of(allowed.begin(), allowed.end(), [&](const std::string& g) { return glob_match(g, name); })) {
    return make_error(errc::role_not_allowed, "\"" + name + "\" is not an allowed role");
  }
  return std::move(**r);
}

status static_rotation::rotate(const std::string& name) {
  auto l = statics_.lock(name);
  std::unique_lock writing(*l);
  auto r = statics_.load(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return make_error(errc::invalid_request, "no static role found for role name");
  return rotate_locked(**r, "manual");
}

void static_rotation::rotated(static_role& r, const secret& password) const {
  r.password = password;
  r.rotation.last = clock_.now();
  r.rotation.attempts = 0;
  r.rotation.last_error.clear();
  r.rotation.next_attempt = time_point{};
  r.rotation.next = next_rotation_time(r.rotation, r.rotation.last);
}

// On success the role is stored with its new password and next rotation; on failure (for an
// existing role) it is stored with the error and a retry after backoff.
status static_rotation::rotate_locked(static_role& r, const char* why) {
  const bool creating = std::string_view(why) == "create";
  auto fail = [&](const error& e) -> status {
    if (creating) return make_error(e.code == make_error_code(errc::invalid_request) ? errc::invalid_request : errc::internal,
                                    "unable to set the password of static account \"" + r.username + "\": " + e.message);
    record_failure(r.rotation, e, clock_.now());
    if (auto s = statics_.store(r); s) schedule(r);
    return make_error(errc::internal,
                      "unable to finish rotating credentials; retries will continue in the background but it is also "
                      "safe to retry manually: " + e.message);
  };
  auto inst = conns_.instance(r.db_name);
  if (!inst) return fail(inst.err());
  auto cfg = conns_.must(r.db_name);
  if (!cfg) return fail(cfg.err());
  auto rated = passwords_.generate_rated(role_password_policy(**cfg, r.credential_config));
  if (!rated) return fail(rated.err());
  const secret* fresh = &rated->password;
  const nlohmann::json wal = {{"role", r.name}, {"username", r.username}, {"new_password", fresh->reveal()},
                              {"statements", r.rotation_statements}};
  if (auto s = store_.put(statics_.wal_key(r.name), wal.dump()); !s) return fail(s.err());  // 1.
  crash_point("static-rotate:after-wal");
  plugin::update_user_request u;
  u.username = r.username;
  u.password = plugin::change_password{*fresh, r.rotation_statements, rated->entropy_bits};
  if (auto changed = (*inst)->update_user(u); !changed) {  // 2.
    // The WAL stays: the change may have reached the database (or some of its nodes). The next
    // attempt writes a new WAL with a new password; start-up rolls the WAL forward.
    return fail(changed.err());
  }
  crash_point("static-rotate:after-db");
  rotated(r, *fresh);
  if (auto s = statics_.store(r); !s) return fail(s.err());  // 3.
  crash_point("static-rotate:after-store");
  (void)store_.remove(statics_.wal_key(r.name));  // 4.
  schedule(r);
  spdlog::info("rotated the password of static role {}{} ({})", mount_, r.name, why);
  return ok_v;
}

status static_rotation::roll_forward(const std::string& name) {
  auto l = statics_.lock(name);
  std::unique_lock writing(*l);
  auto raw = store_.get(statics_.wal_key(name));
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  auto r = statics_.load(name);
  if (!r) return std::move(r).err();
  const auto wal = nlohmann::json::parse(**raw, nullptr, false);
  if (!r->has_value() || !wal.is_object() || !wal.contains("new_password")) {
    (void)store_.remove(statics_.wal_key(name));  // the role is gone, or the WAL is damaged
    return ok_v;
  }
  static_role& role = **r;
  const secret pw(wal["new_password"].get<std::string>());
  if (pw == role.password) {  // stored already (a crash between 3 and 4)
    (void)store_.remove(statics_.wal_key(name));
    return ok_v;
  }
  auto inst = conns_.instance(role.db_name);
  if (!inst) return std::move(inst).err();
  plugin::update_user_request u;
  u.username = role.username;
  u.password = plugin::change_password{pw, role.rotation_statements};
  if (auto changed = (*inst)->update_user(u); !changed) {
    record_failure(role.rotation, changed.err(), clock_.now());  // the scheduled retry uses a fresh password
    (void)statics_.store(role);
    return std::move(changed).err();
  }
  rotated(role, pw);
  if (auto s = statics_.store(role); !s) return s;
  (void)store_.remove(statics_.wal_key(name));
  spdlog::info("static role {}{}: the rotation cut by the last run was rolled forward", mount_, name);
  return ok_v;
}

void static_rotation::schedule(const static_role& r) {
  if (rotations_ == nullptr) return;
  const time_point at = rotation_due(r.rotation);
  if (at == time_point{}) return;
  const std::string name = r.name;
  rotations_->schedule(mount_ + "|static|" + name, at, [owner = owner_(), this, name] {
    auto alive = owner.lock();  // the engine, and so this object, lives until the job ends
    if (!alive) return;
    run_scheduled(name);
  }, mount_ + "|" + r.db_name);  // with the connection's root and other accounts: one at a time
}

void static_rotation::run_scheduled(const std::string& name) {
  auto l = statics_.lock(name);
  std::unique_lock writing(*l);
  auto role = statics_.load(name);
  if (!role || !role->has_value()) return;  // deleted meanwhile
  static_role& sr = **role;
  // With a schedule and a window: a rotation later than the window waits for the next time.
  const time_point now = clock_.now();
  if (past_window(sr.rotation, now)) {
    sr.rotation.next = next_rotation_time(sr.rotation, now);
    if (statics_.store(sr)) schedule(sr);
    return;
  }
  (void)rotate_locked(sr, "scheduled");
}

void static_rotation::recover_wals() {
  auto names = store_.list(statics_.wal_dir());
  if (!names) return;
  for (const auto& n : *names) {
    if (auto s = roll_forward(n); !s) {
      spdlog::error("static role {}{}: the rotation cut by the last run could not be rolled forward: {}", mount_, n,
                    s.err().message);
    }
  }
}

void static_rotation::schedule_all() {
  if (auto names = list()) {
    for (const auto& n : *names) {
      if (auto r = read(n); r && r->has_value()) schedule(**r);
    }
  }
}

}  // namespace credbroker::engine
