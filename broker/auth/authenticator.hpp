#pragma once
// authenticator: turns the token a request carries into the identity it acts as.
// Contract: an unknown, expired or empty token yields std::nullopt (the API answers 403
// "permission denied"); comparison never short-circuits on token content (constant time).
// Thread: authenticate() may be called from many worker threads at once.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/secret.hpp"

namespace credbroker::auth {

struct identity {
  std::vector<std::string> policies;  // "root" grants everything
  std::string display_name;           // "root", "token", "approle", ...; feeds username templates
  std::string accessor;
  bool limited_uses = false;  // created with num_uses: it may not create tokens (they would escape the count)
  bool expires = false;       // has a TTL: it may not create a token that never expires
  bool is_root() const {
    for (const auto& p : policies) {
      if (p == "root") return true;
    }
    return false;
  }
  // What the audit log shows of the token (Vault's logical.Auth): metadata, TTL, issue time.
  std::map<std::string, std::string> meta{};
  std::int64_t ttl = 0;         // seconds at creation or last renewal; 0: never expires
  std::int64_t issue_time = 0;  // unix seconds; 0: unknown
};

// What presenting a token from a client address gave.
struct presented_token {
  std::optional<identity> caller;  // accepted (one use spent, except by check_from)
  // The token is valid but bound to CIDR blocks (token_bound_cidrs) the address is outside: Vault's
  // permission_denied "permission denied" without "invalid token" (the holder keeps its token); no use spent.
  bool address_refused = false;
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  // As authenticate_from() from no known address (a token bound to CIDR blocks is refused).
  virtual std::optional<identity> authenticate(const secret& token) = 0;
  // client_address: the request's client IP ("" when unknown). Authenticators without address
  // bindings ignore it.
  virtual presented_token authenticate_from(const secret& token, std::string_view client_address) {
    (void)client_address;
    return {authenticate(token), false};
  }
  // As authenticate_from(), but spends nothing. The API checks the token, then the ACL, and only
  // then spends a use with spend_use() (Vault's CheckToken before UseToken), so a request the ACL
  // refuses costs a use-limited token (a wrapping token, a num_uses token) nothing.
  virtual presented_token check_from(const secret& token, std::string_view client_address) {
    return authenticate_from(token, client_address);
  }
  // Spends one use of a token check_from() accepted; false when none was left (a concurrent
  // request took the last one, or the token died meanwhile). Default: nothing to spend.
  virtual bool spend_use(const secret& token) {
    (void)token;
    return true;
  }
};

// Knows exactly one token, the root token (dev mode, and until the token store exists).
class root_token_authenticator final : public authenticator {
 public:
  explicit root_token_authenticator(secret root_token) : root_(std::move(root_token)) {}
  std::optional<identity> authenticate(const secret& token) override;

 private:
  secret root_;
};

}  // namespace credbroker::auth
