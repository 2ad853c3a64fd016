#pragma once
// redis-database-plugin on hiredis 0.14. The only code in the broker that includes hiredis.
//
// Config keys (Vault's): host, port, username, password (all required), tls, insecure_tls, ca_cert;
// plus connect_timeout (seconds, default 10). Debian's hiredis 0.14 has no TLS, so tls=true is
// refused at config time with "tls not supported by this build".
#include <mutex>

#include "broker/core/secret.hpp"
#include "broker/plugin/database_plugin.hpp"

namespace credbroker::plugins::redis {

class redis_plugin final : public plugin::database_plugin {
 public:
  std::string type() const override { return "redis"; }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override;
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
  mutable std::mutex mu_;
  settings settings_;
  bool initialized_ = false;
};

}  // namespace credbroker::plugins::redis
