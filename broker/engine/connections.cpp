#include "broker/engine/connections.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/engine/record_codec.hpp"
#include "broker/engine/rotation_timing.hpp"

namespace credbroker::engine {
namespace {

// Vault warns when connection_url holds a password in clear (not a {{password}} template).
bool literal_url_password_in(const nlohmann::json& details) {
  auto url = details.find("connection_url");
  return url != details.end() && url->is_string() && literal_url_password(url->get<std::string>()).has_value();
}

// Vault's connection-pool keys (its SQL connection producer): changing only these needs no new login.
bool only_pool_settings_differ(const nlohmann::json& before, const nlohmann::json& after) {
  auto without_pool = [](nlohmann::json j) {
    if (j.is_object()) {
      for (const char* k : {"max_open_connections", "max_idle_connections", "max_connection_lifetime"}) j.erase(k);
    }
    return j;
  };
  return before != after && without_pool(before) == without_pool(after);
}

// The stored config (or a new one) with the update's fields applied.
connection_config merged(const std::optional<connection_config>& existing, const config_update& u) {
  connection_config c = existing.value_or(connection_config{});
  c.name = u.name;
  if (existing.has_value()) {
    for (auto& [k, v] : u.details.items()) c.details[k] = v;  // update: merged over the stored keys
  } else {
    c.details = u.details;  // create: replaced
  }
  if (u.plugin_name) c.plugin_name = *u.plugin_name;
  if (u.plugin_version) c.plugin_version = *u.plugin_version;
  if (u.verify_connection) c.verify_connection = *u.verify_connection;
  if (u.allowed_roles) c.allowed_roles = *u.allowed_roles;
  if (u.root_rotation_statements) c.root_rotation_statements = *u.root_rotation_statements;
  if (u.password_policy) c.password_policy = *u.password_policy;  // checked at use, as Vault
  if (u.skip_static_role_import_rotation) c.skip_static_role_import_rotation = *u.skip_static_role_import_rotation;
  return c;
}

}  // namespace

connections::connections(storage::physical& store, const plugin::registry& plugins, password_policies& passwords,
                         const clock& clk, std::string mount, std::string prefix, std::string boot)
    : plugins_(plugins),
      passwords_(passwords),
      clock_(clk),
      mount_(std::move(mount)),
      prefix_(std::move(prefix)),
      boot_(std::move(boot)),
      configs_(store, prefix_ + "config/", "connection", config_from_json) {}

result<std::shared_ptr<const connection_config>> connections::find(const std::string& name) { return configs_.get(name); }

result<std::shared_ptr<const connection_config>> connections::must(const std::string& name) {
  auto c = find(name);
  if (!c) return std::move(c).err();
  if (!*c) return make_error(errc::internal, "failed to find entry for connection with name: \"" + name + "\"");
  return *c;
}

status connections::store(const connection_config& c) {
  return configs_.put(c.name, config_to_json(c).dump(), c);
}

status connections::remove(const std::string& name) { return configs_.erase(name); }

result<std::vector<std::string>> connections::list() { return configs_.names(); }

void connections::drop_unread_keys(const plugin::database_plugin& inst, const config_update& u, connection_config& c,
                                   std::vector<std::string>& warnings) {
  const auto keys = inst.config_keys();
  if (keys.empty()) return;
  // The keys of this write only: what the plugin itself stored last time (its defaults) stays.
  std::string ignored;
  for (const auto& [key, _] : u.details.items()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    ignored += (ignored.empty() ? "" : " ") + key;
    c.details.erase(key);
  }
  if (!ignored.empty()) {
    warnings.push_back(c.plugin_name + " does not read these parameters, which were not stored: [" + ignored + "]");
  }
}

result<connections::written> connections::write(config_update u) {
  auto existing = find(u.name);
  if (!existing) return std::move(existing).err();
  const std::optional<connection_config> before = *existing ? std::optional<connection_config>(**existing) : std::nullopt;
  connection_config c = merged(before, u);
  if (c.plugin_name.empty()) return make_error(errc::invalid_request, "empty plugin name");
  if (auto s = apply_root_rotation_fields(u, c.root_rotation); !s) return std::move(s).err();
  if (u.root_rotation_period || u.root_rotation_schedule || u.disable_automated_rotation) {
    const time_point base = c.root_rotation.last == time_point{} ? clock_.now() : c.root_rotation.last;
    c.root_rotation.next = next_rotation_time(c.root_rotation, base);
  }
  // Not open(): an unknown plugin answers the registry's own error, a failed initialisation Vault's
  // "error creating database object".
  auto fresh = plugins_.create(c.plugin_name);
  if (!fresh) return std::move(fresh).err();
  std::shared_ptr<plugin::database_plugin> inst(std::move(*fresh));
  written out;
  drop_unread_keys(*inst, u, c, out.warnings);
  // An update that only resizes the pool is not verified: the credentials and address are the ones
  // already stored, and a database out of connections (the reason to shrink the pool) has none to
  // give a fresh verification login.
  const bool pool_only = before.has_value() && before->plugin_name == c.plugin_name &&
                         only_pool_settings_differ(before->details, c.details);
  auto init = inst->initialize({c.details, c.verify_connection && !pool_only, boot_});
  if (!init) return make_error(errc::invalid_request, "error creating database object: " + init.err().message);
  c.details = init->config;
  if (auto s = store(c); !s) return std::move(s).err();
  for (auto& w : policy_warnings(*inst, c.password_policy)) out.warnings.push_back(std::move(w));
  install(c.name, std::move(inst));
  if (literal_url_password_in(c.details)) {
    out.warnings.emplace_back(
        "Password found in connection_url, use a templated url to enable root rotation and prevent read access to "
        "password information.");
  }
  out.config = std::move(c);
  return out;
}

status connections::reset(const std::string& name) {
  auto c = must(name);
  if (!c) return std::move(c).err();
  drop(name);
  auto inst = instance(name);
  if (!inst) return std::move(inst).err();
  return ok_v;
}

result<std::shared_ptr<plugin::database_plugin>> connections::instance(const std::string& name) {
  std::shared_ptr<std::mutex> init_lock;
  {
    std::lock_guard lock(mu_);
    if (auto it = instances_.find(name); it != instances_.end()) return it->second;
    auto& l = init_locks_[name];
    if (!l) l = std::make_shared<std::mutex>();
    init_lock = l;
  }
  std::lock_guard once(*init_lock);  // one initialisation per connection at a time
  {
    std::lock_guard lock(mu_);
    if (auto it = instances_.find(name); it != instances_.end()) return it->second;
  }
  auto c = must(name);
  if (!c) return std::move(c).err();
  // No probe here: the first real call reports an unreachable database with its own error.
  auto inst = open((*c)->plugin_name, (*c)->details, false);
  if (!inst) return std::move(inst).err();
  std::lock_guard lock(mu_);
  instances_[name] = *inst;
  return inst;
}

result<std::shared_ptr<plugin::database_plugin>> connections::open(const std::string& plugin_name,
                                                                   const nlohmann::json& details, bool verify) {
  auto fresh = plugins_.create(plugin_name);
  if (!fresh) return std::move(fresh).err();
  std::shared_ptr<plugin::database_plugin> inst(std::move(*fresh));
  auto init = inst->initialize({details, verify, boot_});
  if (!init) return std::move(init).err();
  return inst;
}

void connections::install(const std::string& name, std::shared_ptr<plugin::database_plugin> inst) {
  std::shared_ptr<plugin::database_plugin> old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(instances_[name], std::move(inst));
    ended_boots_.erase(name);
  }
  if (old) (void)old->close();
}

void connections::drop(const std::string& name) {
  std::shared_ptr<plugin::database_plugin> old;
  {
    std::lock_guard lock(mu_);
    ended_boots_.erase(name);
    if (auto it = instances_.find(name); it != instances_.end()) {
      old = std::move(it->second);
      instances_.erase(it);
    }
  }
  if (old) (void)old->close();
}

void connections::close_all() {
  std::map<std::string, std::shared_ptr<plugin::database_plugin>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(instances_);
  }
  for (auto& [_, p] : all) (void)p->close();
}

std::vector<std::pair<std::string, plugin::pool_stats>> connections::pools() const {
  std::vector<std::pair<std::string, std::shared_ptr<plugin::database_plugin>>> live;
  {
    std::lock_guard lock(mu_);
    live.assign(instances_.begin(), instances_.end());
  }
  std::vector<std::pair<std::string, plugin::pool_stats>> out;
  out.reserve(live.size());
  for (const auto& [name, inst] : live) out.emplace_back(name, inst->pool());
  return out;
}

status connections::end_sessions_of(const std::string& connection, plugin::database_plugin& inst,
                                    const std::string& boot) {
  if (boot == boot_) return ok_v;  // this process's own issuance: its plugin knows its sessions
  auto done = [&] {
    std::lock_guard lock(mu_);
    auto it = ended_boots_.find(connection);
    return it != ended_boots_.end() && it->second.contains(boot);
  };
  if (done()) return ok_v;
  std::shared_ptr<std::mutex> serial;
  {
    std::lock_guard lock(mu_);
    auto& m = end_locks_[connection];
    if (!m) m = std::make_shared<std::mutex>();
    serial = m;
  }
  std::lock_guard one_at_a_time(*serial);  // the leases of one dead run end its sessions once
  if (done()) return ok_v;
  const std::string who = boot.empty() ? "an earlier broker version" : "the broker run " + boot;
  if (auto r = inst.end_sessions(boot); !r) {
    error e = std::move(r).err();
    if (e.code == make_error_code(errc::unsupported_operation)) e.code = make_error_code(errc::internal);
    e.message = "the database sessions of " + who + " could not be ended (what it sent may still commit): " + e.message;
    return e;
  }
  spdlog::info("{}{}: the database sessions of {} are gone: nothing it sent can commit any more", mount_, connection, who);
  std::lock_guard lock(mu_);
  ended_boots_[connection].insert(boot);
  return ok_v;
}

std::vector<std::string> connections::policy_warnings(const plugin::database_plugin& inst, const std::string& policy) {
  auto bits = passwords_.entropy_bits(policy);
  if (!bits || !bits->has_value()) return {};
  return inst.password_warnings(**bits);
}

void connections::add_policy_warnings(const std::string& db_name, const nlohmann::json& credential_config,
                                      std::vector<std::string>& warnings) {
  auto cfg = find(db_name);
  if (!cfg || !*cfg) return;  // a role may be written before its connection
  auto inst = instance(db_name);
  if (!inst) return;
  for (auto& w : policy_warnings(**inst, role_password_policy(**cfg, credential_config))) warnings.push_back(std::move(w));
}

}  // namespace credbroker::engine
