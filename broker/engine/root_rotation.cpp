#include "broker/engine/root_rotation.hpp"

#include <spdlog/spdlog.h>

#include "broker/core/crash_point.hpp"
#include "broker/core/duration.hpp"
#include "broker/engine/rotation_scheduler.hpp"
#include "broker/engine/rotation_timing.hpp"

namespace credbroker::engine {

root_rotation::root_rotation(storage::physical& store, connections& conns, password_policies& passwords,
                             const clock& clk, std::string mount, std::string prefix, rotation_scheduler* rotations,
                             std::function<std::weak_ptr<const void>()> owner)
    : store_(store),
      conns_(conns),
      passwords_(passwords),
      clock_(clk),
      mount_(std::move(mount)),
      prefix_(std::move(prefix)),
      rotations_(rotations),
      owner_(std::move(owner)) {}

std::shared_ptr<std::mutex> root_rotation::lock(const std::string& connection) {
  std::lock_guard guard(mu_);
  auto& l = locks_[connection];
  if (!l) l = std::make_shared<std::mutex>();
  return l;
}

status root_rotation::rotate(const std::string& name) {
  auto serial = lock(name);
  std::lock_guard one_at_a_time(*serial);
  // An earlier rotation left open (the database was unreachable when it was settled) may hold the
  // only password that works: settle it first, and never write a new WAL over it.
  if (auto w = store_.get(wal_key(name)); w && w->has_value()) {
    if (auto s = resolve_wal(name); !s) {
      return make_error(errc::internal, "unable to rotate root credentials: an earlier rotation is not settled yet (" +
                                            s.err().message + ")");
    }
  }
  return rotate_locked(name);
}

result<std::string> root_rotation::root_password_of(const connection_config& cfg) {
  auto user = cfg.details.find("username");
  if (user == cfg.details.end() || !user->is_string() || user->get<std::string>().empty()) {
    return make_error(errc::internal, "unable to rotate root credentials: no username in configuration");
  }
  auto pass = cfg.details.find("password");
  if (pass == cfg.details.end() || !pass->is_string() || pass->get<std::string>().empty()) {
    return make_error(errc::internal, "unable to rotate root credentials: no password in configuration");
  }
  return pass->get<std::string>();
}

status root_rotation::rotate_locked(const std::string& name) {
  auto stored = conns_.must(name);
  if (!stored) return std::move(stored).err();
  connection_config cfg = **stored;
  auto old_password = root_password_of(cfg);
  if (!old_password) return std::move(old_password).err();
  auto rated = passwords_.generate_rated(cfg.password_policy);
  if (!rated) return std::move(rated).err();
  const secret* fresh = &rated->password;
  const nlohmann::json wal = {{"connection", name}, {"old_password", *old_password},
                              {"new_password", fresh->reveal()}, {"started", format_rfc3339_nano(clock_.now())}};
  if (auto s = store_.put(wal_key(name), wal.dump()); !s) return s;  // 1. durable intent
  crash_point("rotate-root:after-wal");
  auto inst = conns_.instance(name);
  if (!inst) return std::move(inst).err();
  auto changed = (*inst)->rotate_root({*fresh, cfg.root_rotation_statements, rated->entropy_bits});  // 2. database + fresh login
  if (!changed) {
    // The plugin restores the old password when it can; whatever happened, settle it now: the config
    // ends up holding a password that logs in.
    const error e = changed.err();
    if (auto r = resolve_wal(name); !r) {
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
  if (auto s = conns_.store(cfg); !s) return s;  // 3. (the WAL still has the new password if this fails)
  crash_point("rotate-root:after-config");
  (void)store_.remove(wal_key(name));  // 4.
  schedule(cfg);
  return ok_v;
}

status root_rotation::resolve_wal(const std::string& name) {
  auto raw = store_.get(wal_key(name));
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  const auto wal = nlohmann::json::parse(**raw, nullptr, false);
  auto stored = conns_.must(name);
  if (!stored) return std::move(stored).err();
  if (!wal.is_object() || !wal.contains("new_password") || !wal["new_password"].is_string()) {
    (void)store_.remove(wal_key(name));
    return make_error(errc::internal, "the root rotation WAL of " + name + " is damaged; it was dropped");
  }
  return settle_wal(name, **stored, wal["new_password"].get<std::string>());
}

status root_rotation::settle_wal(const std::string& name, const connection_config& cfg, const std::string& new_password) {
  // verify: a fresh login with these credentials
  auto logs_in = [&](const nlohmann::json& details) { return conns_.open(cfg.plugin_name, details, true); };
  // a) The stored password still logs in: the database never changed (or was put back).
  if (auto inst = logs_in(cfg.details)) {
    (void)store_.remove(wal_key(name));
    return ok_v;
  }
  // b) The WAL's new password logs in: the database changed, the config did not.
  nlohmann::json with_new = cfg.details;
  with_new["password"] = new_password;
  if (auto inst = logs_in(with_new)) {
    spdlog::info("root rotation of {}{} finished from its WAL (the database had the new password)", mount_, name);
    return adopt_wal_password(name, cfg, *inst, with_new);
  }
  // c) Neither logs in everywhere (several nodes, cut half-way): finish the change with the new one.
  auto opened = conns_.open(cfg.plugin_name, cfg.details, false);
  if (!opened) return std::move(opened).err();
  std::shared_ptr<plugin::database_plugin> inst = std::move(*opened);
  auto done = inst->rotate_root({secret(new_password), cfg.root_rotation_statements});
  if (!done) {
    return make_error(errc::unavailable, "neither the stored nor the new root password logs in to " + name + ": " +
                                             done.err().message);
  }
  spdlog::info("root rotation of {}{} finished from its WAL (it had reached only some nodes)", mount_, name);
  return adopt_wal_password(name, cfg, inst, done->config);
}

status root_rotation::adopt_wal_password(const std::string& name, const connection_config& cfg,
                                         std::shared_ptr<plugin::database_plugin> inst, const nlohmann::json& details) {
  connection_config c = cfg;
  c.details = details;
  c.root_rotation.last = clock_.now();
  c.root_rotation.next = next_rotation_time(c.root_rotation, c.root_rotation.last);
  if (auto s = conns_.store(c); !s) return s;
  conns_.install(name, std::move(inst));
  (void)store_.remove(wal_key(name));
  return ok_v;
}

void root_rotation::schedule(const connection_config& c) {
  if (rotations_ == nullptr) return;
  const std::string key = mount_ + "|root|" + c.name;
  const rotation_state& r = c.root_rotation;
  if ((r.period.count() == 0 && r.schedule.empty()) || r.disabled) {
    rotations_->cancel(key);
    return;
  }
  const time_point at = rotation_due(r);
  if (at == time_point{}) return;
  const std::string name = c.name;
  rotations_->schedule(key, at, [owner = owner_(), this, name] {
    auto alive = owner.lock();  // the engine, and so this object, lives until the job ends
    if (!alive) return;
    run_scheduled(name);
  }, mount_ + "|" + c.name);  // one rotation at a time per connection
}

void root_rotation::run_scheduled(const std::string& name) {
  // With a schedule and a window: a rotation later than the window waits for the next time.
  if (auto cfg = conns_.must(name); cfg) {
    const time_point now = clock_.now();
    if (past_window((*cfg)->root_rotation, now)) {
      connection_config late = **cfg;
      late.root_rotation.next = next_rotation_time(late.root_rotation, now);
      if (conns_.store(late)) schedule(late);
      return;
    }
  }
  if (auto s = rotate(name); !s) {
    spdlog::error("scheduled root rotation of {}{} failed: {}", mount_, name, s.err().message);
    auto cfg = conns_.must(name);
    if (!cfg) return;
    connection_config c2 = **cfg;
    record_failure(c2.root_rotation, s.err(), clock_.now());
    if (conns_.store(c2)) schedule(c2);
  }
}

void root_rotation::unschedule(const std::string& name) {
  if (rotations_ != nullptr) rotations_->cancel(mount_ + "|root|" + name);
}

void root_rotation::recover_wals() {
  auto names = store_.list(prefix_ + "wal/root/");
  if (!names) return;
  for (const auto& n : *names) {
    auto serial = lock(n);  // the API already serves: a rotate-root may be running
    std::lock_guard one_at_a_time(*serial);
    if (auto s = resolve_wal(n); !s) {
      spdlog::error("root rotation WAL of {}{} is still open: {} (retried at the next start or rotation)", mount_, n,
                    s.err().message);
    }
  }
}

void root_rotation::schedule_all() {
  if (auto names = conns_.list()) {
    for (const auto& n : *names) {
      if (auto c = conns_.find(n); c && *c) schedule(**c);
    }
  }
}

}  // namespace credbroker::engine
