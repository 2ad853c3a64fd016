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
//
// check_shares(shares) is how generate-root and rekey prove a quorum: the shares are combined as
// unseal would combine them and the result must be the root key the barrier holds.
//
// Rekey (commit_rekey): the new root key replaces the old one, with numbered steps whose crash
// points (crash_point.hpp) the SIGKILL tests hit; at every instant either the old shares or the new
// shares open the store, never neither, and never both:
//   1. the caller proved the old shares (check_shares) and made the new key and shares
//                                                                   "rekey:after-shares-checked"
//   2. with an unseal_key_file: its first `threshold` new shares go to <file>.rekey (fsynced)
//                                                                   "rekey:after-key-file-staged"
//   3. ONE atomic write: core/keyring encrypted with the new root key, and core/seal-config with
//      the new shares and threshold (barrier::rekey)                 "rekey:after-commit"
//   4. the in-memory configuration switches (the status shows the new n and t)
//   5. with an unseal_key_file: <file>.rekey renamed over <file>     "rekey:after-key-file-promoted"
// A crash before 3 leaves the old keyring and configuration (a staged <file>.rekey is removed at
// the next start); after 3 the new ones (auto_unseal finishes 5). If the write of 3 fails, nothing
// changed (the staged file is removed); if its outcome stays unknown, the barrier is sealed, so no
// keyring is written with a root key the store may no longer use, and the next unseal tells which.
// Shares travel back to the operator only after 3; require_verification (rekey_operation) holds
// the new key until the operator gave enough of the new shares back, so a response lost after 3
// cannot leave the operator without working shares.
//
// Thread: safe from any thread; mu_ guards the configuration, the unseal progress and the key
// file, and serialises seal state changes. Lock order: mu_, then the barrier's lock.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "broker/barrier/barrier.hpp"
#include "broker/barrier/store_layout.hpp"
#include "broker/barrier/unseal_key_file.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::barrier {

struct seal_config {
  int shares = 0;
  int threshold = 0;
};

// Vault's SealConfig.Validate: errc::invalid_request "shares must be at least one",
// "threshold must be greater than one for multiple shares", "threshold cannot be larger than
// shares", ...
status validate(const seal_config& c);

// The key `shares` make under configuration c (n = 1: the one share is the key itself, else Shamir).
result<secret> combine_shares(const std::vector<secret>& shares, const seal_config& c);

// The root key as unseal shares: n = 1 gives the key itself, else Shamir shares (t needed).
result<std::vector<secret>> split_root_key(const secret& root_key, const seal_config& c);

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
  seal_config config() const;
  // Changes at every seal and unseal: an attempt begun in one epoch is void in the next.
  std::uint64_t epoch() const;

  // Combines the shares with the current configuration and checks the result is the root key.
  // Errors: errc::sealed, errc::not_initialized, errc::invalid_request "failed to compute root
  // key: ..." (shares that do not combine), errc::permission_denied "root key verification failed:
  // the key shares do not reconstruct the root key".
  credbroker::status check_shares(const std::vector<secret>& shares) const;
  // The rekey protocol above. `new_shares` are split_root_key(new_root_key, next).
  credbroker::status commit_rekey(const seal_config& next, const secret& new_root_key,
                                  const std::vector<secret>& new_shares);
  // The unseal_key_file a rekey keeps up to date (set once at start-up, before any request).
  void set_key_file(std::optional<unseal_key_file> f);

  // What the store must hold; register before load().
  store_layout& layout() { return layout_; }

  void on_unseal(std::function<void()> f) { on_unseal_.push_back(std::move(f)); }
  void on_seal(std::function<void()> f) { on_seal_.push_back(std::move(f)); }

  static constexpr const char* config_path = "core/seal-config";

 private:
  std::string config_json(const seal_config& c) const;
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
  std::uint64_t epoch_ = 0;
  std::optional<unseal_key_file> key_file_;
  std::vector<std::function<void()>> on_unseal_;
  std::vector<std::function<void()>> on_seal_;
};

// An unseal key as a user types it: hex or base64 (Vault accepts both); nullopt if neither decodes.
std::optional<std::string> decode_key(const std::string& text);

}  // namespace credbroker::barrier
