#pragma once
// seal_manager: initialisation, unsealing and sealing (Vault's Shamir seal).
//
// init(shares n, threshold t): makes a random 32-byte root key, initialises the barrier with it,
// splits it into n shares (t needed), stores the seal configuration in clear at "core/seal-config"
// (it must be readable while sealed), and returns the shares. The keyring, the seal configuration
// and the store's security state (layout().initial_writes()) are one atomic write. The barrier is
// left UNSEALED so the caller can create the root token; the caller then calls seal() (as Vault
// does after init). With n = 1 the single key is the root key itself.
//
// load() refuses (errc::integrity_failure) a store whose seal configuration and keyring disagree:
//   no core/seal-config, but the store holds keys  -> damaged: init would overwrite the keyring and
//                                                     every value with it
//   core/seal-config, but no core/keyring          -> damaged: nothing in it can be decrypted
// Neither is something a fresh start can paper over; the message says to restore or move the file.
//
// unseal(share): collects shares towards the threshold; the progress and a nonce identify the
// attempt; reset() forgets them. When t shares are in, they are combined and tried on the barrier:
// a wrong combination resets the progress and reports errc::permission_denied. With the barrier
// open, layout().settle() checks the security state and upgrades the layout (store_layout.hpp);
// if it fails the barrier is sealed again and the error (naming what is missing) returned.
//
// Listeners run after every unseal and before every seal (rebuild caches, stop timers).
// Thread: safe from any thread; one internal mutex serialises seal state changes.
#include <functional>
#include <mutex>
#include <vector>

#include "broker/barrier/barrier.hpp"
#include "broker/barrier/store_layout.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::barrier {

struct seal_config {
  int shares = 0;
  int threshold = 0;
};

class seal_manager final : public node_status {
 public:
  seal_manager(storage::physical& backend, barrier& b, std::string storage_type, std::string cluster_name);

  // Loads the stored seal configuration (call once at start-up).
  credbroker::status load();

  result<std::vector<secret>> init(int shares, int threshold);
  // Returns the status after this share. Errors: errc::invalid_request (bad, duplicate share),
  // errc::permission_denied (wrong keys), errc::not_initialized.
  result<seal_snapshot> unseal(const secret& share);
  void reset();
  credbroker::status seal();

  seal_snapshot status() const override;

  // What the store must hold; register before load().
  store_layout& layout() { return layout_; }

  void on_unseal(std::function<void()> f) { on_unseal_.push_back(std::move(f)); }
  void on_seal(std::function<void()> f) { on_seal_.push_back(std::move(f)); }

  static constexpr const char* config_path = "core/seal-config";

 private:
  storage::physical& backend_;
  barrier& barrier_;
  store_layout layout_;
  std::string storage_type_;
  std::string cluster_name_;
  mutable std::mutex mu_;
  bool initialized_ = false;
  seal_config config_;
  std::string cluster_id_;
  std::vector<secret> progress_;
  std::string nonce_;
  std::vector<std::function<void()>> on_unseal_;
  std::vector<std::function<void()>> on_seal_;
};

// An unseal key as a user types it: hex or base64 (Vault accepts both); nullopt if neither decodes.
std::optional<std::string> decode_key(const std::string& text);

}  // namespace credbroker::barrier
