#pragma once
// postgresql-database-plugin on libpqxx 6. The only code in the broker that includes libpqxx.
//
// Config keys (Vault's): connection_url (required), username, password, disable_escaping,
// max_open_connections (default 4), max_idle_connections, max_connection_lifetime,
// username_template, password_authentication; plus connect_timeout (seconds, default 10).
// The returned config is the input with defaults filled in; the password stays in it (the engine
// stores it through the barrier and redacts it on read).
#include <mutex>

#include "broker/plugin/database_plugin.hpp"
#include "broker/core/secret.hpp"
#include "plugins/postgres/connection_string.hpp"

namespace credbroker::plugins::postgres {

class postgres_plugin final : public plugin::database_plugin {
 public:
  std::string type() const override { return "postgres"; }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
  result<plugin::verify_response> verify() override;
  result<plugin::close_response> close() override;

 private:
  mutable std::mutex mu_;
  connection_template conn_;
  bool initialized_ = false;
};

}  // namespace credbroker::plugins::postgres
