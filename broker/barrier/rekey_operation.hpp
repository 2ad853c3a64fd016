#pragma once
// rekey_operation: Vault's rekey, new unseal keys for the same data. A quorum of the current key
// holders gives their shares; when they reconstruct the root key, a new random root key is made,
// split into the requested shares and threshold, and committed (seal_manager::commit_rekey, whose
// header numbers the crash-safe steps). The old shares stop working at that commit.
//
//   start({n, t, require_verification})   one attempt at a time ("rekey already in progress");
//                                         n and t as seal_config validate() wants them
//   update(share, nonce)    below the current threshold it only counts; at it the shares are
//                           checked, the new key and shares are made and
//                             without verification: committed, and the shares returned
//                             with verification: returned with a verification nonce, NOT committed
//   verify(share, nonce)    (verification only) the NEW shares, up to the NEW threshold; when they
//                           reconstruct the new key it is committed. Wrong ones: "rekey verification
//                           failed; incorrect key shares supplied", the progress cleared and the
//                           verification nonce changed
//   restart_verification()  clears the verification progress, new verification nonce
//   cancel(nonce, privileged)
//                           forgets the attempt (and the uncommitted new key). An attempt started
//                           less than cancel_grace ago is cancelled only with its nonce or by a
//                           privileged caller (a root token): the routes are unauthenticated, and
//                           without this anyone could cancel every rekey as it starts
//                           (Vault 1.21's rule). A wrong nonce is refused.
//
// As in Vault: shares that fail the check clear the progress but keep the attempt and its nonce.
// Everything before the commit lives in memory: a restart, a seal or an unseal (seal_manager::epoch)
// ends the attempt, and the current shares stay valid.
// Example: 5/3 -> start({3, 2, true}); update x3 with old shares -> 3 new shares and a
// verification nonce; verify x2 with new shares -> committed; the old shares no longer unseal.
//
// Errors (errc::invalid_request unless said): "rekey already in progress", "no barrier rekey in
// progress", "incorrect nonce supplied; nonce for this rekey operation is \"...\"", "rekey
// operation already finished; verification must be performed; nonce for the verification
// operation is \"...\"", "given key has already been provided during this generation operation",
// "no rekey in progress", "no rekey verification in progress", "incorrect nonce supplied; nonce
// for this verify operation is \"...\"", "given key has already been provided during this verify
// operation", the share-length errors of check_share_length, "failed to compute root key: ...",
// "root key verification failed: ..." (errc::permission_denied), commit failures from the seal.
// Thread: safe from any thread; mu_ guards the attempt. Lock order: mu_, then the seal manager's.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/barrier/seal_manager.hpp"
#include "broker/core/clock.hpp"

namespace credbroker::barrier {

struct rekey_request {
  int shares = 0;
  int threshold = 0;
  bool require_verification = false;
};

struct rekey_status {
  bool started = false;
  std::string nonce;
  int new_shares = 0;     // "n"
  int new_threshold = 0;  // "t"
  int progress = 0;
  int required = 0;  // the current threshold
  bool verification_required = false;
  std::string verification_nonce;  // once the new shares were handed out
};

struct rekey_result {
  std::string nonce;
  std::vector<secret> keys;
  bool verification_required = false;
  std::string verification_nonce;
};

struct verification_status {
  bool started = false;  // the new shares were handed out
  std::string nonce;
  int new_shares = 0;
  int new_threshold = 0;
  int progress = 0;
};

class rekey_operation {
 public:
  static constexpr std::chrono::minutes cancel_grace{10};

  rekey_operation(seal_manager& seal, const clock& clk) : seal_(seal), clock_(clk) {}

  result<rekey_status> status() const;
  credbroker::status start(const rekey_request& r);
  // nullopt: the share counted, more are needed.
  result<std::optional<rekey_result>> update(const secret& share, const std::string& nonce);
  credbroker::status cancel(const std::string& nonce, bool privileged);

  // errc::invalid_request "no rekey configuration found" without an attempt.
  result<verification_status> verification() const;
  // The verification nonce when the new key was committed; nullopt: more shares needed.
  result<std::optional<std::string>> verify(const secret& share, const std::string& nonce);
  credbroker::status restart_verification();

 private:
  struct attempt {
    rekey_request request;
    std::string nonce;
    std::uint64_t epoch = 0;
    time_point started_at;
    std::vector<secret> shares;         // old shares given so far
    secret new_key;                     // made at the threshold (verification pending)
    std::vector<secret> new_shares;
    std::string verification_nonce;
    std::vector<secret> verification;  // new shares given back so far
  };
  attempt* current() const;  // caller holds mu_; nullptr when none (or from another epoch)
  credbroker::status usable() const;

  seal_manager& seal_;
  const clock& clock_;
  mutable std::mutex mu_;
  mutable std::optional<attempt> attempt_;
};

}  // namespace credbroker::barrier
