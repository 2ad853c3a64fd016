#pragma once
// metered_plugin: a database_plugin that measures the one it wraps, as Vault's dbplugin middleware
// does, into telemetry::global_registry(). meter_plugins() wraps every factory of a registry, so
// every instance the engine creates is measured and the engine knows nothing of it.
//
//   vault_database_<op>, vault_database_<type>_<op>              summaries (ms), Vault's names:
//   vault_database_<op>_error, vault_database_<type>_<op>_error  counters of failures
//       op: Initialize, NewUser, UpdateUser (root rotation too: in Vault's dbplugin v5 it is an
//       UpdateUser of the root account), DeleteUser, Close; type: the plugin's type() ("postgres")
//   credbroker_database_operation_duration_seconds{plugin, operation}  every verb that calls the
//   credbroker_database_operation_errors_total{plugin, operation}      database, ours (operation:
//       initialize, new_user, update_user, delete_user, user_exists, user_gone, end_sessions, rotate_root,
//       verify, close, list_users)
//   credbroker_database_calls_in_flight{plugin}                   calls running now
//   credbroker_rotations_total{kind, plugin, outcome}             root (rotate_root) and static
//       (update_user with a new password) password changes, success or failure
// generate_username, config_keys and pool make no database call and are not measured.
//
// Every verb of database_plugin is forwarded, unchanged: a verb added to the interface must be
// forwarded here too (a default implementation in the interface would otherwise hide the inner one).
// Thread: as the wrapped plugin; the measuring is lock-free.
#include <memory>

#include "broker/plugin/database_plugin.hpp"
#include "broker/plugin/registry.hpp"

namespace credbroker::plugin {

class metered_plugin final : public database_plugin {
 public:
  explicit metered_plugin(std::unique_ptr<database_plugin> inner);

  std::string type() const override { return type_; }
  std::vector<std::string> config_keys() const override { return inner_->config_keys(); }
  std::vector<std::string> password_warnings(double entropy_bits) const override {
    return inner_->password_warnings(entropy_bits);
  }
  result<initialize_response> initialize(initialize_request req) override;
  result<std::string> generate_username(const username_metadata& meta) override {
    return inner_->generate_username(meta);
  }
  result<ok_t> new_user(const new_user_request& req) override;
  result<ok_t> update_user(const update_user_request& req) override;
  result<ok_t> delete_user(const delete_user_request& req) override;
  result<bool> user_exists(const std::string& username) override;
  result<bool> user_gone(const std::string& username) override;
  result<ok_t> end_sessions(const std::string& boot) override;
  result<initialize_response> rotate_root(const rotate_root_request& req) override;
  result<verify_response> verify() override;
  result<close_response> close() override;
  result<user_listing> list_users() override;
  pool_stats pool() const override { return inner_->pool(); }

  database_plugin& inner() { return *inner_; }

 private:
  std::unique_ptr<database_plugin> inner_;
  const std::string type_;
};

// Replaces every factory of `r` with one whose instances are metered.
void meter_plugins(registry& r);

}  // namespace credbroker::plugin
