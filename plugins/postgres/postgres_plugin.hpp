#pragma once
// postgresql-database-plugin on libpqxx 6. The only code in the broker that includes libpqxx.
//
// Config keys (Vault's): connection_url (required), username, password, disable_escaping,
// max_open_connections (default 4), max_idle_connections (0 = max_open), max_connection_lifetime
// (seconds or a duration, 0 = forever), username_template, password_authentication
// (password | scram-sha-256); plus connect_timeout (seconds, default 10), which also bounds the wait
// for a pooled connection. The returned config is the input with defaults filled in; the password
// stays in it (the engine stores it through the barrier and redacts it on read).
//
// Pool: at most max_open_connections sessions; a caller waits up to connect_timeout for one. A
// connection found broken is dropped and the call retried once on a fresh one, so a restarted
// database never hangs or fails issuance more than once. Connections older than
// max_connection_lifetime are closed when returned. initialize/rotate_root start a new generation:
// older connections are closed as they come back.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "broker/core/secret.hpp"
#include "broker/plugin/database_plugin.hpp"
#include "plugins/postgres/connection_string.hpp"

namespace credbroker::plugins::postgres {

struct pg_session;  // a pqxx::connection (libpqxx stays out of this header)

class postgres_plugin final : public plugin::database_plugin {
 public:
  postgres_plugin();
  ~postgres_plugin() override;

  std::string type() const override { return "postgres"; }
  std::vector<std::string> config_keys() const override {
    return {"connection_url",      "username",          "password",         "max_open_connections",
            "max_idle_connections", "max_connection_lifetime", "connect_timeout", "username_template",
            "password_authentication", "disable_escaping", "reconcile_interval"};
  }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
  result<std::string> generate_username(const plugin::username_metadata& meta) override;
  result<ok_t> new_user(const plugin::new_user_request& req) override;
  result<ok_t> update_user(const plugin::update_user_request& req) override;
  result<ok_t> delete_user(const plugin::delete_user_request& req) override;
  result<bool> user_exists(const std::string& username) override;
  result<plugin::initialize_response> rotate_root(const plugin::rotate_root_request& req) override;
  result<plugin::verify_response> verify() override;
  result<plugin::close_response> close() override;

  // Open sessions right now (tests check the pool bound).
  std::size_t open_connections() const;

 private:
  struct settings {
    connection_template conn;
    std::size_t max_open = 4;
    std::size_t max_idle = 4;
    std::chrono::seconds max_lifetime{0};
    std::string username_template;
    bool scram = false;
    nlohmann::json config;  // as returned by initialize
  };
  struct pooled {
    std::unique_ptr<pg_session> c;
    std::chrono::steady_clock::time_point created;
    std::uint64_t generation = 0;
  };
  class checkout;

  result<checkout> acquire();
  void give_back(pooled p, bool broken);
  // Runs f on a pooled connection; a broken connection is replaced and f retried once.
  template <class F>
  result<ok_t> with_connection(F&& f, const std::vector<const secret*>& secrets);
  std::string password_value(const secret& password) const;
  std::shared_ptr<const settings> current() const;
  void replace_settings(std::shared_ptr<const settings> s);

  mutable std::mutex mu_;
  std::shared_mutex login_mu_;  // connecting: shared; a root rotation's password switch: exclusive
  std::condition_variable cv_;
  std::shared_ptr<const settings> settings_;
  std::vector<pooled> idle_;
  std::size_t open_ = 0;
  std::uint64_t generation_ = 0;
  bool closed_ = false;
};

}  // namespace credbroker::plugins::postgres
