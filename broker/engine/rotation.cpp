// Root rotation, static roles and their scheduling (docs/rotation.md): the database_engine's
// rotation half. Every password change follows one protocol:
//   1. a WAL record with the new password is written durably      (crash here: nothing changed)
//   2. the password is changed in the database                   (crash here: the WAL has it)
//   3. the new password is stored with its config or role        (crash here: the WAL is stale)
//   4. the WAL record is deleted
// and start-up settles any WAL left open (recover_rotations), so no password is ever lost.
#include <spdlog/spdlog.h>

#include "broker/core/backoff.hpp"
#include "broker/core/crash_point.hpp"
#include "broker/core/cron.hpp"
#include "broker/core/duration.hpp"
#include "broker/engine/database_engine.hpp"
#include "broker/engine/rotation_scheduler.hpp"

namespace credbroker::engine {
namespace {

using std::chrono::seconds;

std::string wal_root_key(const std::string& prefix, const std::string& name) { return prefix + "wal/root/" + name; }
std::string wal_static_key(const std::string& prefix, const std::string& name) { return prefix + "wal/static/" + name; }

}  // namespace

std::shared_ptr<std::shared_mutex> database_engine::static_lock(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& l = static_locks_[name];
  if (!l) l = std::make_shared<std::shared_mutex>();
  return l;
}

std::shared_ptr<std::mutex> database_engine::root_lock(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& l = root_locks_[name];
  if (!l) l = std::make_shared<std::mutex>();
  return l;
}

// ---------------------------------------------------------------------------------------------
// Root credentials

status database_engine::rotate_root(const std::string& name) {
  auto serial = root_lock(name);
  std::lock_guard one_at_a_time(*serial);
  // An earlier rotation left open (the database was unreachable when it was settled) may hold the
  // only password that works: settle it first, and never write a new WAL over it.
  if (auto w = store_.get(wal_root_key(prefix_, name)); w && w->has_value()) {
    if (auto s = resolve_root_wal(name); !s) {
      return make_error(errc::internal, "unable to rotate root credentials: an earlier rotation is not settled yet (" +
                                            s.err().message + ")");
    }
  }
  auto stored = must_config(name);
  if (!stored) return std::move(stored).err();
  connection_config cfg = **stored;
  auto user = cfg.details.find("username");
  if (user == cfg.details.end() || !user->is_string() || user->get<std::string>().empty()) {
    return make_error(errc::internal, "unable to rotate root credentials: no username in configuration");
  }
  auto pass = cfg.details.find("password");
  if (pass == cfg.details.end() || !pass->is_string() || pass->get<std::string>().empty()) {
    return make_error(errc::internal, "unable to rotate root credentials: no password in configuration");
  }
  auto rated = passwords_.generate_rated(cfg.password_policy);
  if (!rated) return std::move(rated).err();
  const secret* fresh = &rated->password;
  const nlohmann::json wal = {{"connection", name}, {"old_password", pass->get<std::string>()},
                              {"new_password", fresh->reveal()}, {"started", format_rfc3339_nano(clock_.now())}};
  if (auto s = store_.put(wal_root_key(prefix_, name), wal.dump()); !s) return s;  // 1. durable intent
  crash_point("rotate-root:after-wal");
  auto inst = instance(name);
  if (!inst) return std::move(inst).err();
  auto changed = (*inst)->rotate_root({*fresh, cfg.root_rotation_statements, rated->entropy_bits});  // 2. database + fresh login
  if (!changed) {
    // The plugin restores the old password when it can; whatever happened, settle it now: the config
    // ends up holding a password that logs in.
    const error e = changed.err();
    if (auto r = resolve_root_wal(name); !r) {
      spdlog::error("root rotation of {}{} failed and could not be settled yet ({}); the WAL keeps both passwords",
                    mount_, name, r.err().message);
    }
    return make_error(errc::internal, "unable to rotate root credentials: " + e.message);
  }
  crash_point("rotate-root:after-db");
  cfg.details = changed->config;
  cfg.root_rotation.last = clock_.now();
  cfg.root_rotation.attempts = 0;
  cfg.root_rotation.last_error.clear();
  cfg.root_rotation.next = next_rotation_time(cfg.root_rotation, cfg.root_rotation.last);
  if (auto s = store_config(cfg); !s) return s;  // 3. (the WAL still has the new password if this fails)
  crash_point("rotate-root:after-config");
  (void)store_.remove(wal_root_key(prefix_, name));  // 4.
  schedule_root(cfg);
  return ok_v;
}

status database_engine::resolve_root_wal(const std::string& name) {
  auto raw = store_.get(wal_root_key(prefix_, name));
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  const auto wal = nlohmann::json::parse(**raw, nullptr, false);
  auto stored = must_config(name);
  if (!stored) return std::move(stored).err();
  if (!wal.is_object() || !wal.contains("new_password")) {
    (void)store_.remove(wal_root_key(prefix_, name));
    return make_error(errc::internal, "the root rotation WAL of " + name + " is damaged; it was dropped");
  }
  const connection_config& cfg = **stored;
  // verify: a fresh login with these credentials
  auto logs_in = [&](const nlohmann::json& details) { return open_instance(cfg.plugin_name, details, true); };
  // The database has the WAL's new password: store it with the rotation's time, and use it.
  auto adopt = [&](std::shared_ptr<plugin::database_plugin> inst, const nlohmann::json& details) {
    connection_config c = cfg;
    c.details = details;
    c.root_rotation.last = clock_.now();
    c.root_rotation.next = next_rotation_time(c.root_rotation, c.root_rotation.last);
    if (auto s = store_config(c); !s) return s;
    install_instance(name, std::move(inst));
    (void)store_.remove(wal_root_key(prefix_, name));
    return status(ok_v);
  };
  // a) The stored password still logs in: the database never changed (or was put back).
  if (auto inst = logs_in(cfg.details)) {
    (void)store_.remove(wal_root_key(prefix_, name));
    return ok_v;
  }
  // b) The WAL's new password logs in: the database changed, the config did not.
  nlohmann::json with_new = cfg.details;
  with_new["password"] = wal["new_password"];
  if (auto inst = logs_in(with_new)) {
    spdlog::info("root rotation of {}{} finished from its WAL (the database had the new password)", mount_, name);
    return adopt(*inst, with_new);
  }
  // c) Neither logs in everywhere (several nodes, cut half-way): finish the change with the new one.
  auto opened = open_instance(cfg.plugin_name, cfg.details, false);
  if (!opened) return std::move(opened).err();
  std::shared_ptr<plugin::database_plugin> inst = std::move(*opened);
  auto done = inst->rotate_root({secret(wal["new_password"].get<std::string>()), cfg.root_rotation_statements});
  if (!done) {
    return make_error(errc::unavailable, "neither the stored nor the new root password logs in to " + name + ": " +
                                             done.err().message);
  }
  spdlog::info("root rotation of {}{} finished from its WAL (it had reached only some nodes)", mount_, name);
  return adopt(inst, done->config);
}

void database_engine::schedule_root(const connection_config& c) {
  if (rotations_ == nullptr) return;
  const std::string key = mount_ + "|root|" + c.name;
  const rotation_state& r = c.root_rotation;
  if ((r.period.count() == 0 && r.schedule.empty()) || r.disabled) {
    rotations_->cancel(key);
    return;
  }
  const time_point at = rotation_due(r);
  if (at == time_point{}) return;
  std::weak_ptr<database_engine> self = weak_from_this();
  const std::string name = c.name;
  rotations_->schedule(key, at, [self, name] {
    auto e = self.lock();
    if (!e) return;
    // With a schedule and a window: a rotation later than the window waits for the next time.
    if (auto cfg = e->must_config(name); cfg) {
      const rotation_state& rs = (*cfg)->root_rotation;
      const time_point now = e->clock_.now();
      if (past_window(rs, now)) {
        connection_config late = **cfg;
        late.root_rotation.next = next_rotation_time(late.root_rotation, now);
        if (e->store_config(late)) e->schedule_root(late);
        return;
      }
    }
    if (auto s = e->rotate_root(name); !s) {
      spdlog::error("scheduled root rotation of {}{} failed: {}", e->mount_, name, s.err().message);
      auto cfg = e->must_config(name);
      if (!cfg) return;
      connection_config c2 = **cfg;
      record_failure(c2.root_rotation, s.err(), e->clock_.now());
      if (e->store_config(c2)) e->schedule_root(c2);
    }
  }, mount_ + "|" + c.name);  // one rotation at a time per connection
}

// ---------------------------------------------------------------------------------------------
// Static roles

result<std::optional<static_role>> database_engine::load_static_role(const std::string& name) {
  auto raw = store_.get(prefix_ + "static-role/" + name);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<static_role>();
  auto r = static_role_from_json(**raw);
  if (!r) return make_error(errc::internal, "stored static role \"" + name + "\" is damaged");
  return r;
}

status database_engine::store_static_role(const static_role& r) {
  return store_.put(prefix_ + "static-role/" + r.name, static_role_to_json(r).dump());
}

result<std::optional<static_role>> database_engine::read_static_role(const std::string& name) {
  auto l = static_lock(name);
  std::shared_lock reading(*l);
  return load_static_role(name);
}

result<std::vector<std::string>> database_engine::list_static_roles() { return store_.list(prefix_ + "static-role/"); }

result<std::vector<std::string>> database_engine::write_static_role(static_role_update u) {
  auto l = static_lock(u.name);
  std::unique_lock writing(*l);
  auto existing = load_static_role(u.name);
  if (!existing) return std::move(existing).err();
  const bool create = !existing->has_value();
  if (!create && u.skip_import_rotation) return make_error(errc::invalid_request, "skip_import_rotation has no effect on updates");
  if (create) {
    if (auto dyn = read_role(u.name); dyn && dyn->has_value()) {
      return make_error(errc::invalid_request, "Role and Static Role names must be unique");
    }
  }
  static_role r = existing->value_or(static_role{});
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
  auto cfg = must_config(r.db_name);
  if (!cfg) return std::move(cfg).err();
  std::vector<std::string> warnings;
  add_policy_warnings(r.db_name, r.credential_config, warnings);
  if (create && u.skip_import_rotation.value_or((*cfg)->skip_static_role_import_rotation)) {
    // Imported as it is: the first rotation comes at the end of the period (or the next tick).
    if (u.password && !u.password->empty()) {
      r.password = *u.password;
    } else {
      warnings.emplace_back("skip_import_rotation: the account's current password was not given (\"password\"), so "
                            "static-creds answers an empty password until the first rotation");
    }
    r.rotation.next = next_rotation_time(r.rotation, clock_.now());
    if (auto s = store_static_role(r); !s) return std::move(s).err();
    schedule_static(r);
    return warnings;
  }
  if (create) {
    // Vault must know the password: rotate it now; nothing is stored if that fails.
    if (auto s = rotate_static_locked(r, "create"); !s) return std::move(s).err();
    return warnings;
  }
  r.rotation.next = next_rotation_time(r.rotation, r.rotation.last == time_point{} ? clock_.now() : r.rotation.last);
  if (auto s = store_static_role(r); !s) return std::move(s).err();
  schedule_static(r);
  return warnings;
}

status database_engine::delete_static_role(const std::string& name) {
  auto l = static_lock(name);
  std::unique_lock writing(*l);
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(prefix_ + "static-role/" + name));
  ops.push_back(storage::operation::remove(wal_static_key(prefix_, name)));
  if (auto s = store_.apply(std::move(ops)); !s) return s;
  if (rotations_ != nullptr) rotations_->cancel(mount_ + "|static|" + name);
  return ok_v;
}

result<static_role> database_engine::static_creds(const std::string& name) {
  auto l = static_lock(name);
  std::shared_lock reading(*l);  // never between a database change and its store
  auto r = load_static_role(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return make_error(errc::invalid_request, "unknown role: " + name);
  auto cfg = must_config((*r)->db_name);
  if (!cfg) return std::move(cfg).err();
  const auto& allowed = (*cfg)->allowed_roles;
  if (!std::any_of(allowed.begin(), allowed.end(), [&](const std::string& g) { return glob_match(g, name); })) {
    return make_error(errc::role_not_allowed, "\"" + name + "\" is not an allowed role");
  }
  return std::move(**r);
}

status database_engine::rotate_static(const std::string& name) {
  auto l = static_lock(name);
  std::unique_lock writing(*l);
  auto r = load_static_role(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return make_error(errc::invalid_request, "no static role found for role name");
  return rotate_static_locked(**r, "manual");
}

// One rotation of a static account, the role's lock held exclusively. On success the role is
// stored with its new password and next rotation; on failure (for an existing role) it is stored
// with the error and a retry after backoff — with a fresh password, never the one just refused.
status database_engine::rotate_static_locked(static_role& r, const char* why) {
  const bool creating = std::string_view(why) == "create";
  auto fail = [&](const error& e) -> status {
    if (creating) return make_error(e.code == make_error_code(errc::invalid_request) ? errc::invalid_request : errc::internal,
                                    "unable to set the password of static account \"" + r.username + "\": " + e.message);
    record_failure(r.rotation, e, clock_.now());
    if (auto s = store_static_role(r); s) schedule_static(r);
    return make_error(errc::internal,
                      "unable to finish rotating credentials; retries will continue in the background but it is also "
                      "safe to retry manually: " + e.message);
  };
  auto inst = instance(r.db_name);
  if (!inst) return fail(inst.err());
  auto cfg = must_config(r.db_name);
  if (!cfg) return fail(cfg.err());
  auto rated = passwords_.generate_rated(role_password_policy(**cfg, r.credential_config));
  if (!rated) return fail(rated.err());
  const secret* fresh = &rated->password;
  const nlohmann::json wal = {{"role", r.name}, {"username", r.username}, {"new_password", fresh->reveal()},
                              {"statements", r.rotation_statements}};
  if (auto s = store_.put(wal_static_key(prefix_, r.name), wal.dump()); !s) return fail(s.err());  // 1.
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
  r.password = *fresh;
  r.rotation.last = clock_.now();
  r.rotation.attempts = 0;
  r.rotation.last_error.clear();
  r.rotation.next_attempt = time_point{};
  r.rotation.next = next_rotation_time(r.rotation, r.rotation.last);
  if (auto s = store_static_role(r); !s) return fail(s.err());  // 3.
  crash_point("static-rotate:after-store");
  (void)store_.remove(wal_static_key(prefix_, r.name));  // 4.
  schedule_static(r);
  spdlog::info("rotated the password of static role {}{} ({})", mount_, r.name, why);
  return ok_v;
}

status database_engine::roll_forward_static_wal(const std::string& name) {
  auto l = static_lock(name);
  std::unique_lock writing(*l);
  auto raw = store_.get(wal_static_key(prefix_, name));
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  auto r = load_static_role(name);
  if (!r) return std::move(r).err();
  const auto wal = nlohmann::json::parse(**raw, nullptr, false);
  if (!r->has_value() || !wal.is_object() || !wal.contains("new_password")) {
    (void)store_.remove(wal_static_key(prefix_, name));  // the role is gone, or the WAL is damaged
    return ok_v;
  }
  static_role& role = **r;
  const secret pw(wal["new_password"].get<std::string>());
  if (pw == role.password) {  // stored already (a crash between 3 and 4)
    (void)store_.remove(wal_static_key(prefix_, name));
    return ok_v;
  }
  auto inst = instance(role.db_name);
  if (!inst) return std::move(inst).err();
  plugin::update_user_request u;
  u.username = role.username;
  u.password = plugin::change_password{pw, role.rotation_statements};
  if (auto changed = (*inst)->update_user(u); !changed) {
    record_failure(role.rotation, changed.err(), clock_.now());  // the scheduled retry uses a fresh password
    (void)store_static_role(role);
    return std::move(changed).err();
  }
  role.password = pw;
  role.rotation.last = clock_.now();
  role.rotation.attempts = 0;
  role.rotation.last_error.clear();
  role.rotation.next = next_rotation_time(role.rotation, role.rotation.last);
  if (auto s = store_static_role(role); !s) return s;
  (void)store_.remove(wal_static_key(prefix_, name));
  spdlog::info("static role {}{}: the rotation cut by the last run was rolled forward", mount_, name);
  return ok_v;
}

void database_engine::schedule_static(const static_role& r) {
  if (rotations_ == nullptr) return;
  const time_point at = rotation_due(r.rotation);
  if (at == time_point{}) return;
  std::weak_ptr<database_engine> self = weak_from_this();
  const std::string name = r.name;
  rotations_->schedule(mount_ + "|static|" + name, at, [self, name] {
    auto e = self.lock();
    if (!e) return;
    auto l = e->static_lock(name);
    std::unique_lock writing(*l);
    auto role = e->load_static_role(name);
    if (!role || !role->has_value()) return;  // deleted meanwhile
    static_role& sr = **role;
    // With a schedule and a window: a rotation later than the window waits for the next time.
    const time_point now = e->clock_.now();
    if (past_window(sr.rotation, now)) {
      sr.rotation.next = next_rotation_time(sr.rotation, now);
      if (e->store_static_role(sr)) e->schedule_static(sr);
      return;
    }
    (void)e->rotate_static_locked(sr, "scheduled");
  }, mount_ + "|" + r.db_name);  // with the connection's root and other accounts: one at a time
}

void database_engine::recover_rotations() {
  // Roots first: revocations and static rotations need a working root login.
  if (auto names = store_.list(prefix_ + "wal/root/")) {
    for (const auto& n : *names) {
      auto serial = root_lock(n);  // the API already serves: a rotate-root may be running
      std::lock_guard one_at_a_time(*serial);
      if (auto s = resolve_root_wal(n); !s) {
        spdlog::error("root rotation WAL of {}{} is still open: {} (retried at the next start or rotation)", mount_, n,
                      s.err().message);
      }
    }
  }
  if (auto names = store_.list(prefix_ + "wal/static/")) {
    for (const auto& n : *names) {
      if (auto s = roll_forward_static_wal(n); !s) {
        spdlog::error("static role {}{}: the rotation cut by the last run could not be rolled forward: {}", mount_, n,
                      s.err().message);
      }
    }
  }
  if (auto names = list_configs()) {
    for (const auto& n : *names) {
      if (auto c = config_ptr(n); c && *c) schedule_root(**c);
    }
  }
  if (auto names = list_static_roles()) {
    for (const auto& n : *names) {
      if (auto r = read_static_role(n); r && r->has_value()) schedule_static(**r);
    }
  }
}

}  // namespace credbroker::engine
