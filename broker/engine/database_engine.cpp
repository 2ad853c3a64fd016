#include "broker/engine/database_engine.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "broker/core/cron.hpp"
#include "broker/core/duration.hpp"
#include "broker/engine/rotation_scheduler.hpp"

#include "broker/core/random.hpp"

namespace credbroker::engine {
namespace {

using std::chrono::seconds;

constexpr std::chrono::seconds db_expiry_buffer{5};  // VALID UNTIL outlives the lease by this much

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

}  // namespace

database_engine::database_engine(storage::physical& store, const plugin::registry& plugins, leases::lease_manager& leases,
                                 password_policies& passwords, const clock& clk, std::string mount, std::string prefix,
                                 std::function<leases::ttl_limits()> limits, rotation_scheduler* rotations,
                                 std::string boot)
    : store_(store),
      plugins_(plugins),
      leases_(leases),
      passwords_(passwords),
      clock_(clk),
      mount_(std::move(mount)),
      prefix_(std::move(prefix)),
      limits_(std::move(limits)),
      rotations_(rotations),
      boot_(std::move(boot)) {}

database_engine::~database_engine() { close_all(); }

nlohmann::json database_engine::redacted(const connection_config& c) { return redacted_config(c); }

template <class T, class Parse>
result<std::shared_ptr<const T>> database_engine::cached(std::map<std::string, std::shared_ptr<const T>>& cache,
                                                         const std::string& key, const std::string& what,
                                                         const std::string& name, Parse parse) {
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache.find(name); it != cache.end()) return it->second;
    gen = generation_;
  }
  auto raw = store_.get(key);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::shared_ptr<const T>();
  auto parsed = parse(**raw);
  if (!parsed) return make_error(errc::internal, "stored " + what + " \"" + name + "\" is damaged");
  auto ptr = std::make_shared<const T>(std::move(*parsed));
  std::lock_guard lock(mu_);
  if (generation_ == gen) cache.emplace(name, ptr);  // nothing was written meanwhile
  return ptr;
}

result<std::shared_ptr<const connection_config>> database_engine::config_ptr(const std::string& name) {
  return cached(configs_, prefix_ + "config/" + name, "connection", name, config_from_json);
}

result<std::shared_ptr<const role>> database_engine::role_ptr(const std::string& name) {
  return cached(roles_, prefix_ + "role/" + name, "role", name, role_from_json);
}

void database_engine::cache_set_config(const std::string& name, std::shared_ptr<const connection_config> c) {
  std::lock_guard lock(mu_);
  ++generation_;
  if (c) configs_[name] = std::move(c);
  else configs_.erase(name);
}

void database_engine::cache_set_role(const std::string& name, std::shared_ptr<const role> r) {
  std::lock_guard lock(mu_);
  ++generation_;
  if (r) roles_[name] = std::move(r);
  else roles_.erase(name);
}

result<std::optional<connection_config>> database_engine::read_config(const std::string& name) {
  auto c = config_ptr(name);
  if (!c) return std::move(c).err();
  if (!*c) return std::optional<connection_config>();
  return std::optional<connection_config>(**c);
}

result<std::shared_ptr<const connection_config>> database_engine::must_config(const std::string& name) {
  auto c = config_ptr(name);
  if (!c) return std::move(c).err();
  if (!*c) return make_error(errc::internal, "failed to find entry for connection with name: \"" + name + "\"");
  return *c;
}

status database_engine::apply_root_rotation(const config_update& u, rotation_state& r) {
  return apply_root_rotation_fields(u, r);
}

result<std::vector<std::string>> database_engine::write_config(config_update u) {
  // Serialised with root rotations of this connection: a write that read the config before a
  // rotation stored its new password must not store the old one back after it.
  auto serial = root_lock(u.name);
  std::lock_guard one_at_a_time(*serial);
  auto existing = read_config(u.name);
  if (!existing) return std::move(existing).err();
  connection_config c = existing->value_or(connection_config{});
  const nlohmann::json stored_details = c.details;
  c.name = u.name;
  if (existing->has_value()) {
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
  if (c.plugin_name.empty()) return make_error(errc::invalid_request, "empty plugin name");
  if (auto s = apply_root_rotation(u, c.root_rotation); !s) return std::move(s).err();
  const bool timing = u.root_rotation_period || u.root_rotation_schedule || u.disable_automated_rotation;
  if (timing) {
    const time_point base = c.root_rotation.last == time_point{} ? clock_.now() : c.root_rotation.last;
    c.root_rotation.next = next_rotation_time(c.root_rotation, base);
  }
  // Not open_instance: an unknown plugin answers the registry's own error, a failed initialisation
  // Vault's "error creating database object".
  auto fresh = plugins_.create(c.plugin_name);
  if (!fresh) return std::move(fresh).err();
  std::shared_ptr<plugin::database_plugin> inst(std::move(*fresh));
  std::vector<std::string> warnings;
  if (const auto keys = inst->config_keys(); !keys.empty()) {
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
  // An update that only resizes the pool is not verified: the credentials and address are the ones
  // already stored, and a database out of connections (the reason to shrink the pool) has none to
  // give a fresh verification login.
  const bool pool_only = existing->has_value() && (*existing)->plugin_name == c.plugin_name &&
                         only_pool_settings_differ(stored_details, c.details);
  auto init = inst->initialize({c.details, c.verify_connection && !pool_only, boot_});
  if (!init) return make_error(errc::invalid_request, "error creating database object: " + init.err().message);
  c.details = init->config;
  if (auto s = store_config(c); !s) return std::move(s).err();
  schedule_root(c);
  for (auto& w : policy_warnings(*inst, c.password_policy)) warnings.push_back(std::move(w));
  install_instance(c.name, std::move(inst));
  if (auto url = c.details.find("connection_url"); url != c.details.end() && url->is_string()) {
    if (literal_url_password(url->get<std::string>())) {
      warnings.emplace_back(
          "Password found in connection_url, use a templated url to enable root rotation and prevent read access to "
          "password information.");
    }
  }
  return warnings;
}

void database_engine::drop_instance(const std::string& name) {
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

status database_engine::delete_config(const std::string& name) {
  auto serial = root_lock(name);
  std::lock_guard one_at_a_time(*serial);
  if (auto s = store_.remove(prefix_ + "config/" + name); !s) return s;
  cache_set_config(name, nullptr);
  if (rotations_ != nullptr) rotations_->cancel(mount_ + "|root|" + name);
  drop_instance(name);
  return ok_v;
}

result<std::vector<std::string>> database_engine::list_configs() { return store_.list(prefix_ + "config/"); }

status database_engine::reset(const std::string& name) {
  auto c = must_config(name);
  if (!c) return std::move(c).err();
  drop_instance(name);
  auto inst = instance(name);
  if (!inst) return std::move(inst).err();
  return ok_v;
}

std::vector<std::pair<std::string, plugin::pool_stats>> database_engine::pools() const {
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

result<std::shared_ptr<plugin::database_plugin>> database_engine::instance(const std::string& name) {
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
  auto c = must_config(name);
  if (!c) return std::move(c).err();
  // No probe here: the first real call reports an unreachable database with its own error.
  auto inst = open_instance((*c)->plugin_name, (*c)->details, false);
  if (!inst) return std::move(inst).err();
  std::lock_guard lock(mu_);
  instances_[name] = *inst;
  return inst;
}

result<std::shared_ptr<plugin::database_plugin>> database_engine::open_instance(const std::string& plugin_name,
                                                                                const nlohmann::json& details,
                                                                                bool verify) {
  auto fresh = plugins_.create(plugin_name);
  if (!fresh) return std::move(fresh).err();
  std::shared_ptr<plugin::database_plugin> inst(std::move(*fresh));
  auto init = inst->initialize({details, verify, boot_});
  if (!init) return std::move(init).err();
  return inst;
}

void database_engine::install_instance(const std::string& name, std::shared_ptr<plugin::database_plugin> inst) {
  std::shared_ptr<plugin::database_plugin> old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(instances_[name], std::move(inst));
    ended_boots_.erase(name);
  }
  if (old) (void)old->close();
}

result<std::optional<role>> database_engine::read_role(const std::string& name) {
  auto r = role_ptr(name);
  if (!r) return std::move(r).err();
  if (!*r) return std::optional<role>();
  return std::optional<role>(**r);
}

status database_engine::store_config(const connection_config& c) {
  if (auto s = store_.put(prefix_ + "config/" + c.name, config_to_json(c).dump()); !s) return s;
  cache_set_config(c.name, std::make_shared<const connection_config>(c));
  return ok_v;
}

std::vector<std::string> database_engine::policy_warnings(const plugin::database_plugin& inst,
                                                          const std::string& policy) {
  auto bits = passwords_.entropy_bits(policy);
  if (!bits || !bits->has_value()) return {};
  return inst.password_warnings(**bits);
}

void database_engine::add_policy_warnings(const std::string& db_name, const nlohmann::json& credential_config,
                                          std::vector<std::string>& warnings) {
  auto cfg = config_ptr(db_name);
  if (!cfg || !*cfg) return;  // a role may be written before its connection
  auto inst = instance(db_name);
  if (!inst) return;
  for (auto& w : policy_warnings(**inst, role_password_policy(**cfg, credential_config))) warnings.push_back(std::move(w));
}

result<std::vector<std::string>> database_engine::write_role(role r) {
  if (r.db_name.empty()) return make_error(errc::invalid_request, "database name is required");
  if (auto st = load_static_role(r.name); st && st->has_value()) {
    return make_error(errc::invalid_request, "Role and Static Role names must be unique");
  }
  if (r.credential_type.empty()) r.credential_type = "password";
  if (r.credential_type != "password" && r.credential_type != "rsa_private_key" && r.credential_type != "client_certificate") {
    return make_error(errc::invalid_request, "invalid credential_type \"" + r.credential_type + "\"");
  }
  // default_ttl > max_ttl is stored as given, as Vault: issuance and renewals cap the TTL at max_ttl.
  auto strip = [](std::vector<std::string>& v) {
    std::erase_if(v, [](const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; });
  };
  strip(r.creation_statements);
  strip(r.revocation_statements);
  strip(r.rollback_statements);
  strip(r.renew_statements);
  if (auto s = store_.put(prefix_ + "role/" + r.name, role_to_json(r).dump()); !s) return std::move(s).err();
  std::vector<std::string> warnings;
  add_policy_warnings(r.db_name, r.credential_config, warnings);
  const std::string name = r.name;
  cache_set_role(name, std::make_shared<const role>(std::move(r)));
  return warnings;
}

status database_engine::delete_role(const std::string& name) {
  if (auto s = store_.remove(prefix_ + "role/" + name); !s) return s;
  cache_set_role(name, nullptr);
  return ok_v;
}

result<std::vector<std::string>> database_engine::list_roles() { return store_.list(prefix_ + "role/"); }

result<issued_creds> database_engine::issue(const std::string& role_name, const caller_info& caller) {
  auto r = role_ptr(role_name);
  if (!r) return std::move(r).err();
  if (!*r) return make_error(errc::invalid_request, "unknown role: " + role_name);
  const role& ro = **r;
  auto config = must_config(ro.db_name);
  if (!config) return std::move(config).err();
  const connection_config* cfg = config->get();
  const bool allowed = std::any_of(cfg->allowed_roles.begin(), cfg->allowed_roles.end(),
                                   [&](const std::string& g) { return glob_match(g, role_name); });
  if (!allowed) return make_error(errc::role_not_allowed, "\"" + role_name + "\" is not an allowed role");
  if (ro.credential_type != "password") {
    return make_error(errc::invalid_request, "unsupported credential_type: \"" + ro.credential_type + "\"");
  }
  const time_point now = clock_.now();
  const time_point issued_at = std::chrono::floor<seconds>(now);
  auto ttl = leases::calculate_ttl(limits_(), seconds(0), ro.default_ttl, ro.max_ttl, issued_at, issued_at);
  if (!ttl) return std::move(ttl).err();
  auto inst = instance(ro.db_name);
  if (!inst) return std::move(inst).err();
  auto username = (*inst)->generate_username({caller.display_name, role_name});
  if (!username) return std::move(username).err();
  auto password = passwords_.generate_rated(role_password_policy(*cfg, ro.credential_config));
  if (!password) return std::move(password).err();

  leases::lease l;
  l.id = mount_ + "creds/" + role_name + "/" + leases::new_lease_suffix(now);
  l.connection = ro.db_name;
  l.role = role_name;
  l.username = *username;
  l.revocation_statements = ro.revocation_statements;
  l.renew_statements = ro.renew_statements;
  l.role_ttl = ro.default_ttl;
  l.role_max_ttl = ro.max_ttl;
  l.issue_time = issued_at;
  l.expire_time = issued_at + ttl->ttl;
  l.renewable = true;
  l.token_accessor = caller.token_accessor;
  l.state = leases::lease_state::pending;
  l.boot = boot_;
  if (auto s = leases_.add(l); !s) return std::move(s).err();  // durable before the user exists

  plugin::new_user_request nu;
  nu.username = l.username;
  nu.statements = ro.creation_statements;
  nu.rollback_statements = ro.rollback_statements;
  nu.password = password->password;
  nu.password_entropy_bits = password->entropy_bits;
  nu.expiration = l.expire_time + db_expiry_buffer;
  // Nothing may be left when the answer is an error: delete (idempotent) before forgetting the lease;
  // if even that fails, the pending lease stays and is revoked at its expiry.
  auto roll_back = [&] {
    if ((*inst)->delete_user({l.username, ro.revocation_statements})) {
      (void)leases_.forget(l.id);
    } else {
      spdlog::warn("issuance of {} failed and the database could not be checked; the pending lease stays and is revoked at its expiry", l.id);
      leases_.release(l.id);
    }
  };
  if (auto created = (*inst)->new_user(nu); !created) {
    roll_back();  // one transaction: nothing should exist, but make sure
    return std::move(created).err();
  }
  leases::lease done = l;
  done.boot.clear();  // the user exists: nothing in doubt any more
  auto active = leases_.activate(done);
  if (!active) {
    roll_back();  // HA: this node lost the leadership meanwhile (lease_manager::activate)
    return std::move(active).err();
  }
  if (!*active) {
    roll_back();  // revoked (its token, its prefix) while the user was being created
    return make_error(errc::internal, "lease " + l.id + " was revoked while its credentials were being issued");
  }
  return issued_creds{l.id, l.username, std::move(password->password), ttl->ttl, std::move(ttl->warnings)};
}

status database_engine::revoke(const leases::lease& l) {
  auto inst = instance(l.connection);
  if (!inst) return std::move(inst).err();
  // A lease still in doubt (pending, or a pending one whose revocation failed before) of an earlier
  // run: a DROP now could precede that run's CREATE still waiting in the database.
  if (l.state == leases::lease_state::pending || !l.boot.empty()) {
    if (auto e = end_sessions_of(l.connection, **inst, l.boot); !e) return e;
  }
  auto r = (*inst)->delete_user({l.username, l.revocation_statements});
  if (!r) return std::move(r).err();
  return ok_v;
}

status database_engine::renew(const leases::lease& l, time_point new_expire) {
  auto inst = instance(l.connection);
  if (!inst) return std::move(inst).err();
  plugin::update_user_request u;
  u.username = l.username;
  u.expiration = plugin::change_expiration{new_expire + db_expiry_buffer, l.renew_statements};
  auto r = (*inst)->update_user(u);
  if (!r) return std::move(r).err();
  return ok_v;
}

status database_engine::end_sessions_of(const std::string& connection, plugin::database_plugin& inst,
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
    e.message = "the database sessions of " + who + " could not be ended (its creations may still commit): " + e.message;
    return e;
  }
  spdlog::info("{}{}: the database sessions of {} are gone; its pending leases can be settled", mount_, connection, who);
  std::lock_guard lock(mu_);
  ended_boots_[connection].insert(boot);
  return ok_v;
}

result<bool> database_engine::resolve_pending(const leases::lease& l) {
  auto inst = instance(l.connection);
  if (!inst) return std::move(inst).err();
  if (auto e = end_sessions_of(l.connection, **inst, l.boot); !e) return std::move(e).err();
  auto exists = (*inst)->user_exists(l.username);
  if (!exists) return std::move(exists).err();
  if (*exists) {
    if (auto s = leases_.activate_stored(l.id); !s) return std::move(s).err();
    return true;
  }
  // Absent, or on some nodes only (cut half-way): its credentials were never handed out. Deleted
  // (idempotent) before the lease is forgotten, so no node keeps it.
  if (auto d = (*inst)->delete_user({l.username, l.revocation_statements}); !d) return std::move(d).err();
  if (auto s = leases_.forget(l.id); !s) return std::move(s).err();
  return false;
}

result<reconcile_report> database_engine::reconcile(const std::string& connection) {
  auto inst = instance(connection);
  if (!inst) return std::move(inst).err();
  const time_point started = clock_.now();
  auto before = (*inst)->list_users();
  if (!before) {
    if (before.err().code == make_error_code(errc::unsupported_operation)) {
      return make_error(errc::invalid_request, "connection \"" + connection + "\" cannot be reconciled: " + before.err().message);
    }
    return std::move(before).err();
  }
  // Active leases of this connection that existed before the first listing.
  std::map<std::string, std::string> lease_of_user;  // username -> lease id
  auto s = leases_.for_each(mount_ + "creds/", [&](const leases::lease& l) {
    if (l.connection != connection || l.state != leases::lease_state::active) return;
    if (l.issue_time + std::chrono::seconds(2) >= started) return;  // issued during the check
    lease_of_user.emplace(l.username, l.id);
  });
  if (!s) return std::move(s).err();
  // A second listing: a user revoked during the scan (its lease gone, the user dropped) is not a leftover.
  auto after = (*inst)->list_users();
  if (!after) return std::move(after).err();
  reconcile_report out;
  out.connection = connection;
  out.prefix = before->prefix;
  out.leases = lease_of_user.size();
  constexpr std::size_t cap = 1000;
  for (std::size_t i = 0; i < before->nodes.size(); ++i) {
    reconcile_report::node_report n;
    n.node = before->nodes[i].first;
    const auto& first = before->nodes[i].second;
    const std::set<std::string> present(first.begin(), first.end());
    std::set<std::string> still;
    if (i < after->nodes.size()) still.insert(after->nodes[i].second.begin(), after->nodes[i].second.end());
    n.users = present.size();
    for (const auto& [user, id] : lease_of_user) {
      if (!present.contains(user) && !still.contains(user) && n.leases_without_user.size() < cap) n.leases_without_user.push_back(id);
    }
    for (const auto& user : present) {
      if (!lease_of_user.contains(user) && still.contains(user) && n.users_without_lease.size() < cap) {
        n.users_without_lease.push_back(user);
      }
    }
    out.nodes.push_back(std::move(n));
  }
  return out;
}

void database_engine::reconcile_due() {
  auto names = list_configs();
  if (!names) return;
  const time_point now = clock_.now();
  for (const auto& name : *names) {
    auto cfg = config_ptr(name);
    if (!cfg || !*cfg) continue;
    std::chrono::seconds every{300};
    if (auto it = (*cfg)->details.find("reconcile_interval"); it != (*cfg)->details.end() && !it->is_null()) {
      auto d = parse_duration_value(*it);
      if (!d) continue;
      every = *d;
    }
    if (every.count() == 0) continue;
    {
      std::lock_guard lock(mu_);
      auto& last = last_reconcile_[name];
      if (last != time_point{} && now - last < every) continue;
      last = now;
    }
    auto r = reconcile(name);
    if (!r) {
      // A plugin that cannot list users says so at once, without a database call: skipped quietly.
      if (r.err().code != make_error_code(errc::invalid_request)) spdlog::warn("reconcile {}{}: {}", mount_, name, r.err().message);
      continue;
    }
    for (const auto& n : r->nodes) {
      if (!n.leases_without_user.empty()) {
        spdlog::warn("reconcile {}{}: {} lease(s) whose user is gone from {} (e.g. {}): the database lost them (a restart without persistence?)",
                     mount_, name, n.leases_without_user.size(), n.node, n.leases_without_user.front());
      }
      if (!n.users_without_lease.empty()) {
        spdlog::warn("reconcile {}{}: {} user(s) with prefix \"{}\" and no lease on {} (e.g. {})", mount_, name,
                     n.users_without_lease.size(), r->prefix, n.node, n.users_without_lease.front());
      }
    }
    if (r->clean()) spdlog::debug("reconcile {}{}: {} lease(s), clean", mount_, name, r->leases);
  }
}

void database_engine::close_all() {
  if (rotations_ != nullptr) rotations_->cancel_prefix(mount_ + "|");
  std::map<std::string, std::shared_ptr<plugin::database_plugin>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(instances_);
  }
  for (auto& [_, p] : all) (void)p->close();
}

status database_engine::destroy_all() {
  close_all();
  {
    std::lock_guard lock(mu_);
    ++generation_;
    configs_.clear();
    roles_.clear();
  }
  std::vector<storage::operation> ops;
  auto s = store_.scan(prefix_, [&](const std::string& key, std::string_view) {
    ops.push_back(storage::operation::remove(key));
    return true;
  });
  if (!s) return s;
  if (ops.empty()) return ok_v;
  return store_.apply(std::move(ops));
}

void engine_router::add(std::shared_ptr<database_engine> e) {
  std::lock_guard lock(mu_);
  engines_[e->mount()] = std::move(e);
}

void engine_router::remove(const std::string& mount) {
  std::lock_guard lock(mu_);
  engines_.erase(mount);
}

std::shared_ptr<database_engine> engine_router::find_for_lease(const std::string& lease_id) const {
  std::lock_guard lock(mu_);
  std::shared_ptr<database_engine> best;
  for (const auto& [mount, e] : engines_) {
    if (lease_id.compare(0, mount.size(), mount) == 0 && (!best || mount.size() > best->mount().size())) best = e;
  }
  return best;
}

std::vector<std::shared_ptr<database_engine>> engine_router::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<database_engine>> out;
  for (const auto& [_, e] : engines_) out.push_back(e);
  return out;
}

status engine_router::revoke(const leases::lease& l) {
  auto e = find_for_lease(l.id);
  if (!e) return make_error(errc::unavailable, "no database mount serves lease \"" + l.id + "\"");
  return e->revoke(l);
}

status engine_router::renew(const leases::lease& l, time_point new_expire) {
  auto e = find_for_lease(l.id);
  if (!e) return make_error(errc::unavailable, "no database mount serves lease \"" + l.id + "\"");
  return e->renew(l, new_expire);
}

}  // namespace credbroker::engine
