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
//
// rekey(new root key) is how the unseal keys change (seal_manager's rekey protocol): core/keyring is
// written again, encrypted with the new root key, in ONE atomic write with the new clear seal
// configuration, so the store holds either the old pair or the new pair, never a mix. The keyring's
// keys and terms stay as they are (sys/key-status does not change); later keyring writes (rotate)
// use the new root key.
// Thread: all methods are safe concurrently; seal/unseal/rotate/rekey take the writer lock (mu_,
// which guards the root key, the keyring and the sealed flag).
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
  // Reads core/keyring again with the root key held (HA: the active node may have rotated it while
  // this one was a standby). errc::permission_denied when the root key changed (a rekey on another
  // node): this node must be unsealed again. errc::sealed while sealed.
  status reload_keyring();
  // Adds a key term; new writes use it. Durable before it returns.
  result<key_info> rotate();
  result<key_info> key_status() const;
  // True when `candidate` is the root key the barrier was unsealed with (constant-time compare).
  // errc::sealed while sealed.
  result<bool> is_root_key(const secret& candidate) const;
  // The keyring encrypted with new_root_key (32 bytes) plus `physical_ops` as given, in one atomic
  // write. When the write reports a failure, core/keyring is read back to settle what happened:
  //   it decrypts with the new key -> the write landed: ok
  //   it decrypts with the old key -> it did not: the write's error, nothing changed
  //   neither, or unreadable        -> errc::storage_failure "... may or may not have been stored ...",
  //                                    and the barrier seals itself: no keyring may be written with a
  //                                    root key the store may no longer use (the next unseal tells)
  // errc::sealed while sealed.
  status rekey(const secret& new_root_key, std::vector<storage::operation> physical_ops);

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
