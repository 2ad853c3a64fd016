#include "broker/auth/authenticator.hpp"

namespace credbroker::auth {

std::optional<identity> root_token_authenticator::authenticate(const secret& token) {
  if (token.empty() || root_.empty() || !root_.equals(token.reveal())) return std::nullopt;
  return identity{{"root"}, "root", ""};
}

}  // namespace credbroker::auth
