#pragma once
// A small blocking HTTP(S) client for the CLI commands: one request per connection.
//
// Settings, as the vault CLI finds them (flags win over the environment):
//   address  -address, else CREDBROKER_ADDR, else VAULT_ADDR, else http://127.0.0.1:8200
//   token    CREDBROKER_TOKEN, else VAULT_TOKEN, else the token helper file (~/.vault-token,
//            cli/token_helper.hpp); sent as X-Vault-Token
//   TLS      the server certificate is checked against -ca-cert / VAULT_CACERT (a PEM file) or the
//            system store, unless -tls-skip-verify / VAULT_SKIP_VERIFY is true
//
// Every request carries X-Vault-Request: true. LIST is sent as Vault's client sends it:
// GET <path>?list=true. A reply with status >= 400 is an api_error whose text is the Vault
// client's ("Error making API request.\n\nURL: GET http://.../v1/x\nCode: 403. Errors:\n\n*
// permission denied"); a transport failure is an error naming the URL ("Get \"http://...\": ...").
//
// Thread: an http_client is immutable after construction; call() may run concurrently.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::cli {

struct http_reply {
  int status = 0;
  nlohmann::json body;  // null when empty or not JSON
  std::string raw;      // the body as received
};

struct tls_options {
  std::string ca_cert;       // PEM file; empty: the system store
  bool skip_verify = false;  // VAULT_SKIP_VERIFY
};

class http_client {
 public:
  http_client(std::string address, secret token, tls_options tls = {});
  // address_flag / ca_cert_flag empty: from the environment; skip_verify_flag nullopt: VAULT_SKIP_VERIFY.
  static http_client from_environment(const std::string& address_flag, const std::string& ca_cert_flag = "",
                                      std::optional<bool> skip_verify_flag = std::nullopt);

  // method: GET, PUT, POST, DELETE or LIST. path: below /v1/, may carry "?query".
  result<http_reply> call(const std::string& method, const std::string& path, const nlohmann::json* body = nullptr) const;
  const std::string& address() const { return address_; }
  bool has_token() const { return !token_.empty(); }
  http_client with_token(secret token) const;

  // "GET http://127.0.0.1:8200/v1/x?list=true": the method and URL a call sends, for messages.
  std::string describe(const std::string& method, const std::string& path) const;

 private:
  std::string address_;
  secret token_;
  tls_options tls_;
};

// The first error message of a Vault error body, or "HTTP <status>".
std::string error_text(const http_reply& r);

// The Vault client's text for a failed request (status >= 400), as above.
std::string api_error_text(const std::string& method_and_url, const http_reply& r);

}  // namespace credbroker::cli
