#pragma once
// Builds a libpq connection string from Vault's connection_url template.
//
//   connection_url  "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres"
//   username "root", password "p@ss word"
//   -> "postgresql://root:p%40ss%20word@127.0.0.1:5432/postgres?connect_timeout=10&application_name=credbroker
//       &tcp_user_timeout=10000&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
//
// URI form: {{username}}/{{password}} are percent-encoded (unless disable_escaping).
// Keyword form ("host=... user={{username}}"): values are single-quoted with \ and ' escaped, as
// libpq requires. connect_timeout, application_name, tcp_user_timeout (= connect_timeout) and TCP
// keepalives are added when absent, so a vanished server fails a request instead of hanging it.
#include <string>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::plugins::postgres {

struct connection_template {
  std::string url;  // as configured, may contain {{username}} and {{password}}
  std::string username;
  secret password;
  bool disable_escaping = false;
  int connect_timeout_seconds = 10;
};

// The ready-to-use libpq string. It contains the password: keep it in a secret.
result<secret> render_connection_string(const connection_template& t);

}  // namespace credbroker::plugins::postgres
