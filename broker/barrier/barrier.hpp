#pragma once
// barrier: the encryption layer between every component and the physical store.
//
// Every value written through the barrier is AES-256-GCM encrypted (aes_gcm.hpp) with the keyring's
// active key, a fresh nonce, and the storage key as additional data. The keyring holds every key ever
// used, by term (1, 2, ...): sys/rotate adds a term and new writes use it, while values written under
// older terms stay readable. The keyring itself is stored at "core/keyring", encrypted with the root
// key (term 0). The root key is never stored: it is rebuilt from unseal key shares (seal_manager).
//
//   physical "core/keyring"   = enc(root key, keyring JSON)
//   physical "<any other key>" = enc(keyring[active term], value)
//
// While sealed, every data call fails with errc::sealed. A value that fails authentication yields
// errc::integrity_failure with a message naming its key — never garbage, never a crash.
// Thread: all methods are safe concurrently; seal/unseal/rotate take a writer lock.
#include <cstdint>
#include <map>
#include <shared_mutex>

#include "broker/core/secret.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::barrier {

struct key_info {
  std::uint32_t term = 0;
  std::string install_time;  // RFC 3339
};

class barrier final : public storage::physical {
 public:
  explicit barrier(storage::physical& backend) : backend_(backend) {}

  // True once initialize() has stored a keyring.
  result<bool> initialized() const;
  // Creates the keyring (term 1) encrypted with root_key (32 bytes) and leaves the barrier unsealed.
  // In the same atomic write: `physical_ops` as given (e.g. the clear seal configuration) and
  // `sealed_ops` encrypted with the new keyring, so a crash leaves either a whole new store or none.
  status initialize(const secret& root_key, std::vector<storage::operation> physical_ops = {},
                    std::vector<storage::operation> sealed_ops = {});
  // Decrypts the keyring with root_key. errc::permission_denied if the key is wrong.
  status unseal(const secret& root_key);
  void seal();
  bool sealed() const;
  // Adds a key term; new writes use it. Durable before it returns.
  result<key_info> rotate();
  result<key_info> key_status() const;

  result<std::optional<std::string>> get(const std::string& key) override;
  result<std::vector<std::string>> list(const std::string& prefix) override;
  status apply(std::vector<storage::operation> ops) override;
  void apply_lazy(std::vector<storage::operation> ops) override;
  // Decrypts each value. Values that fail authentication are skipped; the scan goes on and then
  // returns errc::integrity_failure naming the first of them.
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override;

  static constexpr const char* keyring_path = "core/keyring";

 private:
  struct keyring {
    std::uint32_t active = 0;
    std::map<std::uint32_t, std::pair<secret, std::string>> keys;  // term -> (key, install time)
  };
  result<std::string> encode_keyring(const keyring& k) const;
  status encrypt_ops(std::vector<storage::operation>& ops) const;
  static status encrypt_with(const keyring& k, std::vector<storage::operation>& ops);
  result<storage::operation> keyring_write(const keyring& k, const secret& root_key) const;

  storage::physical& backend_;
  mutable std::shared_mutex mu_;
  bool unsealed_ = false;
  secret root_key_;
  keyring keyring_;
};

}  // namespace credbroker::barrier
