#pragma once
// Builds a libpq connection string from Vault's connection_url template.
//
//   connection_url  "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres"
//   username "root", password "p@ss word"
//   -> "postgresql://root:p%40ss%20word@127.0.0.1:5432/postgres?connect_timeout=10&application_name=credbroker"
//
// URI form: {{username}}/{{password}} are percent-encoded (unless disable_escaping).
// Keyword form ("host=... user={{username}}"): values are single-quoted with \ and ' escaped, as
// libpq requires. connect_timeout and application_name are added when absent.
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
