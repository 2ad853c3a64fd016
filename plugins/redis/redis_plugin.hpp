#pragma once
// redis-database-plugin on hiredis 0.14. The only code in the broker that includes hiredis.
//
// Config keys (Vault's): host, port, username, password (all required), tls, insecure_tls, ca_cert.
// Debian's hiredis 0.14 has no TLS, so tls=true is refused at config time ("tls not supported by
// this build"). credbroker's own keys:
//   replicas              ["host:port", {"host":..,"port":..,"username":..,"password":..}, ...]:
//                         more nodes that get every ACL change (Redis does not replicate ACLs);
//                         username/password default to the primary's
//   max_open_connections  per node (default 8); a caller waits up to connect_timeout for one
//   connect_timeout       seconds (default 5): connecting, each command, waiting for a connection
//   username_template     as for PostgreSQL; default Vault's Redis names, V_<DISPLAY>_<ROLE>_<20>_<unix>
//   persistence_mode      none (default) | aclfile: ACL SAVE on every node, debounced ...
//   persistence_interval  ... to at most once per this duration (default 10s), never per request
//                         (ACL SAVE blocks Redis ~0.2 ms per user: 20 s at 100k users)
//   reconcile_interval    read by the engine (not here): how often list_users() is compared with
//                         the leases (default 5m, 0 = never)
//
// Users: ACL SETUSER <user> on #<sha256 of the password> <rules> with the rules of creation_statements[0] (a JSON
// array, default ["~*", "+@read"]), on the primary, then every replica; ACL DELUSER on every node on
// revoke (Redis closes that user's connections); renew is a no-op (Redis users do not expire; the
// lease's revocation enforces it). Passwords are sent only as '#<sha256>' / '!<sha256>' (parsers.hpp),
// never in clear (issuance, static and root rotation). A failure on any node fails the call and names the nodes: a
// creation is then rolled back by the engine (delete is idempotent everywhere), a deletion is retried
// by the lease manager until every node has dropped the user, never reported as success.
//
// Pool (plugins/common/session_pool.hpp): per node, at most max_open_connections authenticated
// connections; a connection that fails
// with an I/O error is dropped and the command retried once on a fresh one (every command here is
// idempotent), so a restarted Redis costs no failed request.
//
// Connections are named (CLIENT SETNAME) "credbroker:<boot id>" and their CLIENT ID kept. After a
// crash, end_sessions(boot) kills the dead process's connections on every node (CLIENT LIST, CLIENT
// KILL ID) until none is left: a command of the dead process still queued in Redis (blocked by a
// slow command, an ACL SAVE, a script; or still in flight on the network) is then either applied or
// never, before the restart asks ACL GETUSER. A connection lost in this process under an ACL SETUSER
// is killed by its id before the next command on that node. Both need the user's +client (CLIENT
// SETNAME, ID, LIST, KILL); without it the pending leases of a crash stay pending (never guessed).
//
// Thread: all verbs are safe concurrently. A saver thread runs only with persistence_mode=aclfile.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/core/secret.hpp"
#include "broker/plugin/database_plugin.hpp"
#include "plugins/common/session_pool.hpp"

namespace credbroker::plugins::redis {

class redis_plugin final : public plugin::database_plugin {
 public:
  redis_plugin() = default;
  ~redis_plugin() override;

  std::string type() const override { return "redis"; }
  std::vector<std::string> config_keys() const override {
    return {"host",           "port",         "username",         "password",         "tls",
            "replicas",       "connect_timeout", "max_open_connections", "username_template",
            "persistence_mode", "persistence_interval", "reconcile_interval"};
  }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
  result<std::string> generate_username(const plugin::username_metadata& meta) override;
  result<ok_t> new_user(const plugin::new_user_request& req) override;
  result<ok_t> update_user(const plugin::update_user_request& req) override;
  result<ok_t> delete_user(const plugin::delete_user_request& req) override;
  result<bool> user_exists(const std::string& username) override;
  // Absent on every node (a user left on some nodes by a revocation cut half-way is not gone).
  result<bool> user_gone(const std::string& username) override;
  result<plugin::initialize_response> rotate_root(const plugin::rotate_root_request& req) override;
  result<plugin::verify_response> verify() override;
  result<plugin::close_response> close() override;
  result<plugin::user_listing> list_users() override;
  // Crash recovery: kills the connections named with `boot`'s tag on every node.
  result<ok_t> end_sessions(const std::string& boot) override;
  plugin::pool_stats pool() const override;

  // ACL SAVE rounds sent so far (tests check the debounce).
  std::size_t saves() const;

  struct node_conn;  // an authenticated hiredis connection (hiredis stays out of this header)
  using node_pool = common::session_pool<node_conn>;
  struct node;
  struct settings;

 private:
  struct reply_view {
    int type = 0;
    std::string str;
    long long integer = 0;
    std::vector<std::string> elements;  // array replies of strings
  };
  // Whether ACL GETUSER finds the user (present) or finds none (!present) on every node; stops at the
  // first node that differs.
  result<bool> user_on_every_node(const std::string& username, bool present);
  // One command on node i, on a pooled connection (retried once on a fresh one after an I/O error).
  // creates: the command makes a user (ACL SETUSER of new_user); a connection lost under it is
  // killed before the next command on the node, as it may still be applied.
  result<reply_view> command(const settings& s, std::size_t i, const std::vector<std::string>& argv,
                             const std::vector<const secret*>& secrets, bool creates = false);
  // The command on every node; the error names each node that failed (and those that succeeded).
  result<ok_t> on_every_node(const settings& s, const std::vector<std::string>& argv,
                             const std::vector<const secret*>& secrets, const char* what);
  result<std::shared_ptr<const settings>> current() const;
  void changed();  // a user was made, changed or dropped: persistence is due
  void saver_loop();
  void stop_saver();

  mutable std::mutex mu_;
  std::shared_ptr<const settings> settings_;
  nlohmann::json config_;

  mutable std::mutex save_mu_;
  std::condition_variable save_cv_;
  bool dirty_ = false;
  bool stop_saving_ = false;
  std::size_t saves_ = 0;
  std::thread saver_;
};

}  // namespace credbroker::plugins::redis
