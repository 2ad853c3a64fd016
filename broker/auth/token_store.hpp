#pragma once
// token_store: tokens kept in storage (through the barrier) only as HMAC-SHA256(salt, token).
//
//   auth/token/salt                 32 random bytes, made on first use (encrypted by the barrier)
//   auth/token/id/<hmac hex>        {"policies":[...],"display_name":...,"accessor":...,"creation_time":...}
//   auth/token/accessor/<accessor>  <hmac hex>
//
// A lookup hashes the presented token and reads its entry; the clear token is never stored, so a
// copy of the database file reveals no usable token. The salt is cached in memory while unsealed;
// clear_cache() (called when sealing) forgets it.
// Thread: all methods are safe concurrently.
#include <mutex>
#include <optional>

#include "broker/auth/authenticator.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::auth {

class token_store final : public authenticator {
 public:
  explicit token_store(storage::physical& store) : store_(store) {}

  // A root token (policies ["root"]); `id` chooses its value (dev mode), else "hvs." + 24 random.
  result<secret> create_root(std::optional<std::string> id = std::nullopt);
  std::optional<identity> authenticate(const secret& token) const override;
  void clear_cache();

 private:
  result<secret> salt() const;
  result<std::string> hash(const secret& token) const;

  storage::physical& store_;
  mutable std::mutex mu_;
  mutable std::optional<secret> salt_;
};

}  // namespace credbroker::auth
