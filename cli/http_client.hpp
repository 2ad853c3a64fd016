#pragma once
// A small blocking HTTP(S) client for the CLI subcommands: one request per connection.
// Address from -address, else CREDBROKER_ADDR, else VAULT_ADDR, else http://127.0.0.1:8200.
// Token from CREDBROKER_TOKEN, else VAULT_TOKEN. HTTPS verifies the server certificate against
// VAULT_CACERT (a PEM file) or the system store, unless VAULT_SKIP_VERIFY is true.
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::cli {

struct http_reply {
  int status = 0;
  nlohmann::json body;  // null when empty or not JSON
};

class http_client {
 public:
  http_client(std::string address, secret token);
  static http_client from_environment(const std::string& address_flag);

  result<http_reply> call(const std::string& method, const std::string& path, const nlohmann::json* body = nullptr) const;
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  secret token_;
};

// The first error message of a Vault error body, or "HTTP <status>".
std::string error_text(const http_reply& r);

}  // namespace credbroker::cli
