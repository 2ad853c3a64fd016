#pragma once
// root_generation: Vault's generate-root, the way back from a lost root token. A quorum of unseal
// key holders each give their share; when the threshold is reached and the shares reconstruct the
// root key, a new root token is minted and returned encoded with a one-time password (OTP), so
// the shares' holders never see it in clear and whoever reads the final response cannot use it
// without the OTP.
//
//   start(otp)      one attempt at a time ("root generation already in progress"); an empty otp
//                   makes one (base62, otp_length characters) and returns it, once
//   update(share, nonce, mint)
//                   the nonce must be the attempt's; a share given twice is refused; below the
//                   threshold it only counts; at the threshold the shares are combined and
//                   checked (seal_manager::check_shares), mint() creates the root token, and the
//                   attempt ends with encoded_token = base64 (unpadded) of token XOR otp
//   cancel()        forgets the attempt (nothing happens when there is none)
//
// As in Vault: a failed check clears the progress but keeps the attempt (same nonce, same OTP),
// so the holders can give their shares again; mint() failing also keeps it. The attempt lives in
// memory only: a restart, a seal or an unseal ends it (seal_manager::epoch), and nothing is stored
// until mint() runs.
//
// OTP: otp_length = 28 = len("hvs.") + 24, the length of every root token this broker mints (Vault's
// TokenPrefixLength + TokenLength); a longer or shorter OTP is refused at start ("OTP string is
// wrong length"), since XOR needs equal lengths. Decoding (vault operator generate-root -decode):
// token = base64-decode(encoded_token) XOR otp.
// Example: otp "0123456789abcdefghijABCDEFGH", token "hvs.ABCDEFGHIJKLMNOPQRSTUVWX" -> the token's
// bytes XOR the OTP's bytes, base64 without padding: 38 characters.
//
// Errors (errc::invalid_request unless said): "OTP string is wrong length", "root generation
// already in progress", "no root generation in progress", "incorrect nonce supplied; nonce for
// this root generation operation is \"...\"", "given key has already been provided during this
// generation operation", "key is shorter than minimum 16 bytes", "key is longer than maximum 33
// bytes", "failed to compute root key: ...", "root generation aborted: root key verification
// failed: ..."; errc::sealed / errc::not_initialized from the seal.
// Thread: safe from any thread; mu_ guards the attempt. Lock order: mu_, then the seal manager's
// (check_shares), then whatever mint() takes (the token store, the barrier).
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/barrier/seal_manager.hpp"

namespace credbroker::barrier {

struct generation_status {
  bool started = false;
  std::string nonce;
  int progress = 0;
  int required = 0;  // the seal's threshold
};

struct generation_update {
  int progress = 0;
  int required = 0;
  bool complete = false;
  std::string encoded_token;  // when complete
};

class root_generation {
 public:
  static constexpr std::size_t otp_length = 28;

  explicit root_generation(seal_manager& seal) : seal_(seal) {}

  result<generation_status> status() const;
  // Returns the OTP the server made when `otp` is empty, else "".
  result<std::string> start(const std::string& otp);
  result<generation_update> update(const secret& share, const std::string& nonce,
                                   const std::function<result<secret>()>& mint);
  credbroker::status cancel();

 private:
  struct attempt {
    std::string nonce;
    secret otp;
    std::uint64_t epoch = 0;
    std::vector<secret> shares;
  };
  // The attempt in progress, if it belongs to the seal's current epoch (caller holds mu_).
  attempt* current() const;
  credbroker::status usable() const;  // initialised and unsealed

  seal_manager& seal_;
  mutable std::mutex mu_;
  mutable std::optional<attempt> attempt_;
};

// base64 (standard alphabet, no padding) of token XOR otp, which must be as long as the token.
result<std::string> encode_root_token(const secret& token, const secret& otp);
// The inverse (what `operator generate-root -decode` does).
result<secret> decode_root_token(const std::string& encoded, const secret& otp);

// Vault's share-length bounds for generate-root and rekey (barrier key 16..32 bytes, plus the Shamir x).
credbroker::status check_share_length(const secret& share);

}  // namespace credbroker::barrier
