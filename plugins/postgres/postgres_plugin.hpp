#pragma once
// postgresql-database-plugin on libpqxx 6. The only code in the broker that includes libpqxx.
//
// Config keys (Vault's): connection_url (required), username, password, disable_escaping,
// max_open_connections (default 4), max_idle_connections (0 = max_open), max_connection_lifetime
// (seconds or a duration, 0 = forever), username_template, password_authentication
// (password | scram-sha-256), scram_iterations (with scram-sha-256 only: 1 to 1,000,000, default 4096;
// a count under 4096 is used only for passwords of >= 100 bits, statements.hpp scram_iterations_for);
// plus credbroker's connect_timeout (seconds, default 10), which also
// bounds the wait for a pooled connection, and max_connection_idle_time (duration, default 5m,
// 0 = never): an idle session unused that long is closed. The returned config is the input with
// defaults filled in; the password stays in it (the engine stores it through the barrier and
// redacts it on read).
//
// Sessions: every one carries application_name "credbroker:<boot id>" (initialize_request::boot_id),
// which end_sessions(boot) of a later process looks for in pg_stat_activity: it terminates them
// (pg_terminate_backend: the root user may end sessions of its own role) and waits until none is
// left, so no creation of a dead broker can commit after the restart asked user_exists.
//
// Pool (plugins/common/session_pool.hpp): at most max_open_connections sessions; a caller waits up
// to connect_timeout for one. A
// connection found broken is dropped and the call retried once on a fresh one, so a restarted
// database never hangs or fails issuance more than once; a creation whose session broke while its
// statements ran is retried only once that backend is gone (ended from a fresh session, so its
// transaction can no longer commit behind the retry or the rollback); until it can be ended, every
// call that could see its outcome fails. Sessions idle longer than max_connection_idle_time, or
// older than max_connection_lifetime, are closed by a reaper thread (plugins/common/pool_reaper.hpp:
// one per instance, sleeping until the next such deadline). When the database refuses a login for lack of connection slots
// ("too many clients", the superuser reserve), the pool closes its idle sessions at once and keeps
// none for a minute, so the broker gives the slots back to the DBA as soon as its calls end.
// initialize/rotate_root start a new generation: older connections are closed as they come back.
//
// Transient conflicts: a transaction that fails with a serialization failure (40001), a deadlock
// (40P01) or "tuple concurrently updated" (XX000: concurrent GRANT/REVOKE on one object) is run
// again, up to 5 attempts in all, after 20 ms, 40 ms, 80 ms, 160 ms (each jittered to 50-100 %).
// Its retries run alone (conflict_gate): transactions of this instance run side by side until one
// conflicts; its retry waits for those running and holds new ones back, so it cannot meet the same
// conflict with this process again (200 concurrent creations GRANTing on one table all succeed).
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "broker/core/secret.hpp"
#include "broker/plugin/database_plugin.hpp"
#include "plugins/common/pool_reaper.hpp"
#include "plugins/common/session_pool.hpp"
#include "plugins/postgres/connection_string.hpp"

namespace credbroker::plugins::postgres {

struct pg_session;  // a pqxx::connection (libpqxx stays out of this header)

// Admission of transactions: any number run shared; a retry after a transient conflict runs
// exclusive (waits for the shared ones to end; new shared ones wait while it waits or runs). It
// waits at most 1 s, then runs shared: one transaction stuck behind another client's lock must
// not stall every other.
// Guarded by its own mutex, never held across a database call.
struct conflict_gate {
  std::mutex mu;
  std::condition_variable cv;
  int shared = 0;
  int waiting = 0;  // exclusive ones waiting
  bool exclusive = false;
};

class postgres_plugin final : public plugin::database_plugin {
 public:
  postgres_plugin();
  ~postgres_plugin() override;

  std::string type() const override { return "postgres"; }
  std::vector<std::string> config_keys() const override {
    return {"connection_url",      "username",          "password",         "max_open_connections",
            "max_idle_connections", "max_connection_lifetime", "max_connection_idle_time", "connect_timeout", "username_template",
            "password_authentication", "scram_iterations", "disable_escaping", "reconcile_interval"};
  }
  // A warning when scram_iterations (< 4096) does not apply to passwords this weak.
  std::vector<std::string> password_warnings(double entropy_bits) const override;
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
  result<std::string> generate_username(const plugin::username_metadata& meta) override;
  result<ok_t> new_user(const plugin::new_user_request& req) override;
  result<ok_t> update_user(const plugin::update_user_request& req) override;
  result<ok_t> delete_user(const plugin::delete_user_request& req) override;
  result<bool> user_exists(const std::string& username) override;
  result<plugin::initialize_response> rotate_root(const plugin::rotate_root_request& req) override;
  result<plugin::verify_response> verify() override;
  result<plugin::close_response> close() override;

  // Crash recovery: terminates the sessions tagged with `boot` (database_plugin::end_sessions).
  result<ok_t> end_sessions(const std::string& boot) override;

  plugin::pool_stats pool() const override;

  // Open sessions right now (tests check the pool bound).
  std::size_t open_connections() const;

 private:
  struct settings {
    connection_template conn;
    std::size_t max_open = 4;
    std::size_t max_idle = 4;
    std::chrono::seconds max_lifetime{0};
    std::chrono::seconds max_idle_time{300};
    std::string boot;  // this process's boot id; conn.application_name is its tag
    std::string username_template;
    bool scram = false;
    int scram_iterations = 4096;  // configured; scram_iterations_for() picks per credential
    nlohmann::json config;  // as returned by initialize
  };
  using session_pool = common::session_pool<std::unique_ptr<pg_session>>;
  using pooled = session_pool::entry;
  // A session that broke while a creation ran on it: its backend may still commit.
  struct lost_backend {
    int pid = 0;
    std::string backend_start;
  };
  class checkout;

  result<checkout> acquire();
  void give_back(pooled p, bool broken);
  // Runs f on a pooled connection; a broken connection is replaced and f retried once. creates: f
  // may create something that must not commit behind a retry (new_user): a session that breaks
  // under it is ended first (lost_).
  template <class F>
  result<ok_t> with_connection(F&& f, const std::vector<const secret*>& secrets, bool creates = false);
  // Terminates the backends that match `where` (an SQL condition on pg_stat_activity, $1... bound
  // to args) from a pooled session and waits until none is left (at most 10 s).
  template <class... Args>
  status end_backends(const std::string& where, const std::string& what, const Args&... args);
  // Ends the backends in lost_; fails while one cannot be ended.
  status end_lost();
  // The login was refused for lack of connection slots: close the idle sessions, keep none a while.
  void refused_for_lack_of_slots();
  // What {{password}} becomes: the password, or with scram-sha-256 a verifier of the iterations
  // scram_iterations_for(configured, entropy_bits) gives.
  std::string password_value(const secret& password, double entropy_bits) const;
  std::shared_ptr<const settings> current() const;
  static common::pool_limits limits_of(const settings& s);
  void replace_settings(std::shared_ptr<const settings> s);

  conflict_gate gate_;
  // Lock order: login_mu_ -> mu_; the pool's and the reaper's own locks are leaves, never held
  // while mu_ is taken.
  mutable std::mutex mu_;  // settings_ and lost_
  std::shared_mutex login_mu_;  // connecting: shared; a root rotation's password switch: exclusive
  std::shared_ptr<const settings> settings_;
  std::vector<lost_backend> lost_;
  session_pool pool_;
  // Closes the pool's expired idle sessions: wakes at the next idle or lifetime deadline.
  common::pool_reaper reaper_;
};

}  // namespace credbroker::plugins::postgres
