#include "broker/plugin/metered_plugin.hpp"

#include "broker/telemetry/registry.hpp"

namespace credbroker::plugin {
namespace {

using telemetry::global_registry;

// Vault's names: "vault.database." + the label values (+ ".error"), one registry key per shape.
telemetry::family_options vault_names(std::string suffix = {}) {
  telemetry::family_options o;
  o.labels_in_name = true;
  o.name_prefix = "vault.database";
  o.name_suffix = std::move(suffix);
  return o;
}

struct instruments {
  telemetry::family<telemetry::histogram>& vault_op = global_registry().summaries(
      "vault.database.op", "Time of a database plugin call, in milliseconds (every plugin).", {"op"}, 1000.0,
      vault_names());
  telemetry::family<telemetry::histogram>& vault_type_op = global_registry().summaries(
      "vault.database.type_op", "Time of a database plugin call, in milliseconds (one plugin type).", {"type", "op"},
      1000.0, vault_names());
  telemetry::family<telemetry::counter>& vault_op_error = global_registry().counters(
      "vault.database.op_error", "Failed database plugin calls (every plugin).", {"op"}, vault_names("error"));
  telemetry::family<telemetry::counter>& vault_type_op_error = global_registry().counters(
      "vault.database.type_op_error", "Failed database plugin calls (one plugin type).", {"type", "op"},
      vault_names("error"));
  telemetry::family<telemetry::histogram>& duration = global_registry().histograms(
      "credbroker.database.operation_duration_seconds", "Time of a database plugin call, per plugin and operation.",
      {"plugin", "operation"}, {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  telemetry::family<telemetry::counter>& errors = global_registry().counters(
      "credbroker.database.operation_errors_total", "Failed database plugin calls, per plugin and operation.",
      {"plugin", "operation"});
  telemetry::family<telemetry::gauge>& in_flight = global_registry().gauges(
      "credbroker.database.calls_in_flight", "Database plugin calls running now, per plugin.", {"plugin"});
  telemetry::family<telemetry::counter>& rotations = global_registry().counters(
      "credbroker.rotations_total", "Password rotations: root (rotate-root) and static (static roles), by outcome.",
      {"kind", "plugin", "outcome"});
};

instruments& m() {
  static instruments i;
  return i;
}

// One call: in flight while it runs, then its time and outcome under our name and Vault's.
template <class F>
auto measured(const std::string& type, const char* ours, const char* vaults, F&& call) {
  auto& in_flight = m().in_flight.with({type});
  in_flight.add(1);
  const telemetry::stopwatch sw;
  auto r = call();
  const double s = sw.seconds();
  in_flight.add(-1);
  m().duration.with({type, ours}).observe(s);
  if (!r) m().errors.with({type, ours}).inc();
  if (vaults != nullptr) {
    m().vault_op.with({vaults}).observe(s);
    m().vault_type_op.with({type, vaults}).observe(s);
    if (!r) {
      m().vault_op_error.with({vaults}).inc();
      m().vault_type_op_error.with({type, vaults}).inc();
    }
  }
  return r;
}

void count_rotation(const char* kind, const std::string& type, bool ok) {
  m().rotations.with({kind, type, ok ? "success" : "failure"}).inc();
}

}  // namespace

metered_plugin::metered_plugin(std::unique_ptr<database_plugin> inner)
    : inner_(std::move(inner)), type_(inner_->type()) {}

result<initialize_response> metered_plugin::initialize(initialize_request req) {
  return measured(type_, "initialize", "Initialize", [&] { return inner_->initialize(std::move(req)); });
}

result<ok_t> metered_plugin::new_user(const new_user_request& req) {
  return measured(type_, "new_user", "NewUser", [&] { return inner_->new_user(req); });
}

result<ok_t> metered_plugin::update_user(const update_user_request& req) {
  auto r = measured(type_, "update_user", "UpdateUser", [&] { return inner_->update_user(req); });
  if (req.password) count_rotation("static", type_, static_cast<bool>(r));
  return r;
}

result<ok_t> metered_plugin::delete_user(const delete_user_request& req) {
  return measured(type_, "delete_user", "DeleteUser", [&] { return inner_->delete_user(req); });
}

result<bool> metered_plugin::user_exists(const std::string& username) {
  return measured(type_, "user_exists", nullptr, [&] { return inner_->user_exists(username); });
}

result<bool> metered_plugin::user_gone(const std::string& username) {
  return measured(type_, "user_gone", nullptr, [&] { return inner_->user_gone(username); });
}

result<ok_t> metered_plugin::end_sessions(const std::string& boot) {
  return measured(type_, "end_sessions", nullptr, [&] { return inner_->end_sessions(boot); });
}

result<initialize_response> metered_plugin::rotate_root(const rotate_root_request& req) {
  auto r = measured(type_, "rotate_root", "UpdateUser", [&] { return inner_->rotate_root(req); });
  count_rotation("root", type_, static_cast<bool>(r));
  return r;
}

result<verify_response> metered_plugin::verify() {
  return measured(type_, "verify", nullptr, [&] { return inner_->verify(); });
}

result<close_response> metered_plugin::close() {
  return measured(type_, "close", "Close", [&] { return inner_->close(); });
}

result<user_listing> metered_plugin::list_users() {
  return measured(type_, "list_users", nullptr, [&] { return inner_->list_users(); });
}

void meter_plugins(registry& r) {
  auto plain = std::make_shared<const registry>(r);
  for (const auto& name : plain->names()) {
    r.add(name, [plain, name]() -> std::unique_ptr<database_plugin> {
      auto inner = plain->create(name);
      if (!inner) return nullptr;  // cannot happen: the name is one of its own
      return std::make_unique<metered_plugin>(std::move(*inner));
    });
  }
}

}  // namespace credbroker::plugin
