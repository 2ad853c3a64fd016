#pragma once
// Builds a libpq connection string from Vault's connection_url template.
//
//   connection_url  "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres"
//   username "root", password "p@ss word"
//   application_name "credbroker:k3J9xQ0aZ7mT2pLb"
//   -> "postgresql://root:p%40ss%20word@127.0.0.1:5432/postgres?connect_timeout=10&tcp_user_timeout=10000
//       &keepalives_idle=30&keepalives_interval=10&keepalives_count=3&application_name=credbroker%3Ak3J9xQ0aZ7mT2pLb"
//
// URI form: {{username}}/{{password}} are percent-encoded (unless disable_escaping).
// Keyword form ("host=... user={{username}}"): values are single-quoted with \ and ' escaped, as
// libpq requires. connect_timeout, tcp_user_timeout (= connect_timeout) and TCP keepalives are
// added when absent, so a vanished server fails a request instead of hanging it. application_name
// is always added last, so it wins over one in the URL (libpq keeps the last of a repeated key): it
// is how a restarted broker finds the sessions of the process before it (plugin/boot_id.hpp).
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
  std::string application_name = "credbroker";  // plugin::session_tag(boot)
};

// The ready-to-use libpq string. It contains the password: keep it in a secret.
result<secret> render_connection_string(const connection_template& t);

}  // namespace credbroker::plugins::postgres
