#pragma once
// redis-database-plugin on hiredis 0.14. The only code in the broker that includes hiredis.
//
// Config keys (Vault's): host, port, username, password (all required), tls, insecure_tls, ca_cert;
// plus connect_timeout (seconds, default 10).
// Users: ACL SETUSER <user> on ><password> <rules> with the rules of creation_statements[0] (a JSON
// array, default ["~*", "+@read"]); ACL DELUSER on revoke (which also closes the user's connections);
// renew is a no-op (Redis has no expiry for users; the lease's revocation enforces it). Debian's hiredis 0.14 has no TLS, so tls=true is
// refused at config time with "tls not supported by this build".
#include <mutex>

#include "broker/core/secret.hpp"
#include "broker/plugin/database_plugin.hpp"

namespace credbroker::plugins::redis {

class redis_plugin final : public plugin::database_plugin {
 public:
  std::string type() const override { return "redis"; }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
  result<std::string> generate_username(const plugin::username_metadata& meta) override;
  result<ok_t> new_user(const plugin::new_user_request& req) override;
  result<ok_t> update_user(const plugin::update_user_request& req) override;
  result<ok_t> delete_user(const plugin::delete_user_request& req) override;
  result<bool> user_exists(const std::string& username) override;
  result<plugin::initialize_response> rotate_root(const plugin::rotate_root_request& req) override;
  result<plugin::verify_response> verify() override;
  result<plugin::close_response> close() override;

 private:
  struct settings {
    std::string host;
    int port = 0;
    std::string username;
    secret password;
    int connect_timeout_seconds = 10;
  };
  struct reply_view {
    int type = 0;
    std::string str;
    long long integer = 0;
  };
  // One command on a fresh authenticated connection (a pool comes with the Redis issue).
  result<reply_view> command(const std::vector<std::string>& argv, const std::vector<const secret*>& secrets);
  result<settings> current() const;

  mutable std::mutex mu_;
  settings settings_;
  nlohmann::json config_;
  bool initialized_ = false;
};

}  // namespace credbroker::plugins::redis
