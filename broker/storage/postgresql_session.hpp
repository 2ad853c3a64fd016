#pragma once
// postgresql_session: one libpq session (a pqxx::connection) that never reconnects by itself.
//
// libpqxx 6 silently re-opens a broken connection on its next use. For the storage writer and the HA
// lock that would be a lie: the new session holds no advisory lock and its prepared statements and
// settings are gone. So reactivation is inhibited: a session that broke stays broken (broken() is
// true), every later call fails at once, and the owner opens a new session on purpose.
//
//   auto s = postgresql_session::open(target, "storage writer", {{"statement_timeout", "60s"}});
//   std::lock_guard lock(s->mu());
//   auto r = s->run("storage write failed", [&](pqxx::connection& c) { ...; return value; });
//
// run() turns every driver exception into errc::storage_failure naming the server (never the
// password) and marks the session broken when the connection is gone: libpqxx's broken_connection
// and in_doubt_error, SQLSTATE classes 08 (connection exception) and 57P (the server ended the
// session: pg_terminate_backend, idle_session_timeout, shutdown), or a connection no longer open.
// confirm(sent) records the steady-clock time at which a statement that then succeeded was sent:
// the server saw this session busy no earlier than that (the HA lock's local deadline reads it).
// Thread: one caller at a time per session, serialised by mu() (the caller locks it); broken(),
// pid() and last_confirmed() may be read from any thread.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "broker/storage/postgresql_target.hpp"

namespace credbroker::storage {

// The first key of every advisory lock credbroker takes ("crbd"); the second says which: 1 for
// schema creation, a hash of the table names for the HA leadership (ha/postgresql_leadership.hpp).
constexpr int postgresql_lock_class = 0x63726264;

class postgresql_session;

// CREATE TABLE <quoted_name> (<columns>) unless it exists: a check only when it does (the role then
// needs no CREATE right), serialised across nodes starting at once by a transaction-level advisory
// lock (concurrent CREATE TABLE IF NOT EXISTS can fail on the catalog's unique index). Requires the
// session's mutex held.
status create_table_once(postgresql_session& s, const std::string& quoted_name, const std::string& columns,
                         const std::string& what);

class postgresql_session {
 public:
  using steady = std::chrono::steady_clock;
  using setting = std::pair<std::string, std::string>;

  // Connects and applies each setting with set_config (session scope). `purpose` names the session
  // in errors ("storage writer", "HA lock").
  static result<std::unique_ptr<postgresql_session>> open(const postgresql_target& target, std::string purpose,
                                                          const std::vector<setting>& settings = {});
  ~postgresql_session();

  std::mutex& mu() { return mu_; }
  pqxx::connection& conn() { return *conn_; }
  const postgresql_target& target() const { return target_; }
  int pid() const { return pid_; }
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  void mark_broken() { broken_.store(true, std::memory_order_release); }
  // Closes the socket (the server ends the session, releasing its locks). Requires mu() held.
  void close();

  steady::time_point last_confirmed() const { return steady::time_point{steady::duration{confirmed_.load()}}; }
  void confirm(steady::time_point sent);

  // Runs f(conn) (caller holds mu()); exceptions become errc::storage_failure "<what> (PostgreSQL at
  // <server>): <reason>". Confirms the session with the time f started when it succeeds.
  template <class F>
  auto run(const std::string& what, F&& f) -> result<decltype(f(std::declval<pqxx::connection&>()))> {
    if (broken()) return target_.failure(what, purpose_ + " session is closed (the connection was lost earlier)");
    const auto sent = steady::now();
    try {
      auto value = f(*conn_);
      confirm(sent);
      return value;
    } catch (const std::exception& e) {
      return fail(what, e);
    }
  }

  // Whether this exception means the session is gone (see the header comment).
  static bool is_connection_loss(const std::exception& e, const pqxx::connection& c);

 private:
  postgresql_session(const postgresql_target& target, std::string purpose);
  error fail(const std::string& what, const std::exception& e);

  postgresql_target target_;
  std::string purpose_;
  std::mutex mu_;  // guards conn_ use: one statement at a time
  std::unique_ptr<pqxx::connection> conn_;
  int pid_ = 0;
  std::atomic<bool> broken_{false};
  std::atomic<steady::rep> confirmed_{0};
};

}  // namespace credbroker::storage
