#include "broker/engine/database_engine.hpp"

#include "broker/engine/rotation_scheduler.hpp"

namespace credbroker::engine {

database_engine::database_engine(storage::physical& store, const plugin::registry& plugins, leases::lease_manager& leases,
                                 password_policies& passwords, const clock& clk, std::string mount, std::string prefix,
                                 std::function<leases::ttl_limits()> limits, rotation_scheduler* rotations,
                                 std::string boot)
    : store_(store),
      clock_(clk),
      mount_(std::move(mount)),
      prefix_(std::move(prefix)),
      rotations_(rotations),
      connections_(store, plugins, passwords, clk, mount_, prefix_, std::move(boot)),
      static_roles_(store, prefix_),
      roles_(store, connections_, static_roles_, prefix_),
      issuance_(connections_, roles_, leases, passwords, clk, mount_, std::move(limits)),
      reconciler_(connections_, leases, clk, mount_),
      root_(store, connections_, passwords, clk, mount_, prefix_, rotations,
            [this] { return std::weak_ptr<const void>(weak_from_this()); }),
      statics_(store, static_roles_, roles_, connections_, passwords, clk, mount_, rotations,
               [this] { return std::weak_ptr<const void>(weak_from_this()); }) {}

database_engine::~database_engine() { close_all(); }

nlohmann::json database_engine::redacted(const connection_config& c) { return redacted_config(c); }

status database_engine::apply_root_rotation(const config_update& u, rotation_state& r) {
  return apply_root_rotation_fields(u, r);
}

// Connection configs. A write or delete holds the connection's root lock: a write that read the
// config before a rotation stored its new password must not store the old one back after it.

result<std::optional<connection_config>> database_engine::read_config(const std::string& name) {
  auto c = connections_.find(name);
  if (!c) return std::move(c).err();
  if (!*c) return std::optional<connection_config>();
  return std::optional<connection_config>(**c);
}

result<std::vector<std::string>> database_engine::write_config(config_update u) {
  auto serial = root_.lock(u.name);
  std::lock_guard one_at_a_time(*serial);
  auto w = connections_.write(std::move(u));
  if (!w) return std::move(w).err();
  root_.schedule(w->config);
  return std::move(w->warnings);
}

status database_engine::delete_config(const std::string& name) {
  auto serial = root_.lock(name);
  std::lock_guard one_at_a_time(*serial);
  if (auto s = connections_.remove(name); !s) return s;
  root_.unschedule(name);
  connections_.drop(name);
  return ok_v;
}

result<std::vector<std::string>> database_engine::list_configs() { return connections_.list(); }

status database_engine::reset(const std::string& name) { return connections_.reset(name); }

// Roles and issuance.

result<std::optional<role>> database_engine::read_role(const std::string& name) { return roles_.read(name); }

result<std::vector<std::string>> database_engine::write_role(role r) { return roles_.write(std::move(r)); }

status database_engine::delete_role(const std::string& name) { return roles_.remove(name); }

result<std::vector<std::string>> database_engine::list_roles() { return roles_.list(); }

result<issued_creds> database_engine::issue(const std::string& role_name, const caller_info& caller) {
  return issuance_.issue(role_name, caller);
}

status database_engine::revoke(const leases::lease& l, const std::vector<std::string>& earlier_boots) {
  return issuance_.revoke(l, earlier_boots);
}

status database_engine::renew(const leases::lease& l, time_point new_expire) { return issuance_.renew(l, new_expire); }

result<bool> database_engine::resolve_pending(const leases::lease& l) { return issuance_.resolve_pending(l); }

result<reconcile_report> database_engine::reconcile(const std::string& connection) {
  return reconciler_.reconcile(connection);
}

void database_engine::reconcile_due() { reconciler_.reconcile_due(); }

// Rotations.

status database_engine::rotate_root(const std::string& name) { return root_.rotate(name); }

result<std::optional<static_role>> database_engine::read_static_role(const std::string& name) {
  return statics_.read(name);
}

result<std::vector<std::string>> database_engine::write_static_role(static_role_update u) {
  return statics_.write(std::move(u));
}

status database_engine::delete_static_role(const std::string& name) { return statics_.remove(name); }

result<std::vector<std::string>> database_engine::list_static_roles() { return statics_.list(); }

result<static_role> database_engine::static_creds(const std::string& name) { return statics_.creds(name); }

status database_engine::rotate_static(const std::string& name) { return statics_.rotate(name); }

void database_engine::recover_rotations() {
  // Roots first: revocations and static rotations need a working root login.
  root_.recover_wals();
  statics_.recover_wals();
  root_.schedule_all();
  statics_.schedule_all();
}

// The mount's lifetime.

std::vector<std::pair<std::string, plugin::pool_stats>> database_engine::pools() const { return connections_.pools(); }

void database_engine::close_all() {
  if (rotations_ != nullptr) rotations_->cancel_prefix(mount_ + "|");
  connections_.close_all();
}

status database_engine::destroy_all() {
  close_all();
  connections_.forget_all();
  roles_.forget_all();
  std::vector<storage::operation> ops;
  auto s = store_.scan(prefix_, [&](const std::string& key, std::string_view) {
    ops.push_back(storage::operation::remove(key));
    return true;
  });
  if (!s) return s;
  if (ops.empty()) return ok_v;
  return store_.apply(std::move(ops));
}

}  // namespace credbroker::engine
