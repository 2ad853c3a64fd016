#pragma once
// authenticator: turns the token a request carries into the identity it acts as.
// Contract: an unknown, expired or empty token yields std::nullopt (the API answers 403
// "permission denied"); comparison never short-circuits on token content (constant time).
// Thread: authenticate() may be called from many worker threads at once.
#include <optional>
#include <string>
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
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  virtual std::optional<identity> authenticate(const secret& token) = 0;
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
