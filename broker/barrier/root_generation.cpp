#include "broker/barrier/root_generation.hpp"

#include <spdlog/spdlog.h>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::barrier {

result<std::string> encode_root_token(const secret& token, const secret& otp) {
  if (token.empty()) return make_error(errc::internal, "no token provided");
  if (otp.size() != token.size()) {
    return make_error(errc::internal, "xor of root token failed: length of byte slices is not equivalent: " +
                                          std::to_string(otp.size()) + " != " + std::to_string(token.size()));
  }
  std::string mixed(token.size(), '\0');
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] = static_cast<char>(token.reveal()[i] ^ otp.reveal()[i]);
  std::string out = base64_encode(mixed);
  std::fill(mixed.begin(), mixed.end(), '\0');
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

result<secret> decode_root_token(const std::string& encoded, const secret& otp) {
  std::string padded = encoded;
  while (padded.size() % 4 != 0) padded += '=';
  auto raw = base64_decode(padded);
  if (!raw) return make_error(errc::invalid_request, "error decoding base64'd token: illegal base64 data");
  if (raw->size() != otp.size()) {
    return make_error(errc::invalid_request, "error xoring token: length of byte slices is not equivalent: " +
                                                 std::to_string(raw->size()) + " != " + std::to_string(otp.size()));
  }
  for (std::size_t i = 0; i < raw->size(); ++i) (*raw)[i] = static_cast<char>((*raw)[i] ^ otp.reveal()[i]);
  return secret(std::move(*raw));
}

status check_share_length(const secret& share) {
  if (share.size() < 16) return make_error(errc::invalid_request, "key is shorter than minimum 16 bytes");
  if (share.size() > key_size + 1) return make_error(errc::invalid_request, "key is longer than maximum 33 bytes");
  return ok_v;
}

status root_generation::usable() const {
  const auto s = seal_.status();
  if (!s.initialized) return make_error(errc::not_initialized, "Vault is not initialized");
  if (s.sealed) return make_error(errc::sealed, "Vault is sealed");
  return ok_v;
}

root_generation::attempt* root_generation::current() const {
  if (attempt_ && attempt_->epoch != seal_.epoch()) attempt_.reset();
  return attempt_ ? &*attempt_ : nullptr;
}

result<generation_status> root_generation::status() const {
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  generation_status out;
  out.required = seal_.config().threshold;
  if (const attempt* a = current()) {
    out.started = true;
    out.nonce = a->nonce;
    out.progress = static_cast<int>(a->shares.size());
  }
  return out;
}

result<std::string> root_generation::start(const std::string& otp) {
  const bool made = otp.empty();
  if (!made && otp.size() != otp_length) return make_error(errc::invalid_request, "OTP string is wrong length");
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  if (current() != nullptr) return make_error(errc::invalid_request, "root generation already in progress");
  attempt a;
  a.nonce = random_uuid();
  a.otp = made ? secret(random_alnum(otp_length)) : secret(otp);
  a.epoch = seal_.epoch();
  std::string shown = made ? a.otp.reveal() : std::string();
  spdlog::info("root generation initialized: nonce={}", a.nonce);
  attempt_ = std::move(a);
  return shown;
}

result<generation_update> root_generation::update(const secret& share, const std::string& nonce,
                                                  const std::function<result<secret>()>& mint) {
  if (auto l = check_share_length(share); !l) return std::move(l).err();
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  attempt* a = current();
  if (a == nullptr) return make_error(errc::invalid_request, "no root generation in progress");
  if (nonce != a->nonce) {
    return make_error(errc::invalid_request,
                      "incorrect nonce supplied; nonce for this root generation operation is \"" + a->nonce + "\"");
  }
  for (const auto& given : a->shares) {
    if (given == share) {
      return make_error(errc::invalid_request, "given key has already been provided during this generation operation");
    }
  }
  a->shares.push_back(share);
  generation_update out;
  out.progress = static_cast<int>(a->shares.size());
  out.required = seal_.config().threshold;
  if (out.progress < out.required) return out;
  const std::vector<secret> shares = std::move(a->shares);
  a->shares.clear();
  if (auto ok = seal_.check_shares(shares); !ok) {
    if (ok.err().code == make_error_code(errc::permission_denied)) {
      spdlog::error("root generation aborted: {}", ok.err().message);
      return make_error(errc::invalid_request, "root generation aborted: " + ok.err().message);
    }
    return std::move(ok).err();
  }
  auto token = mint();
  if (!token) {
    spdlog::error("root token generation failed: {}", token.err().message);
    return std::move(token).err();
  }
  auto encoded = encode_root_token(*token, a->otp);
  if (!encoded) return std::move(encoded).err();
  spdlog::info("root generation finished: nonce={}", a->nonce);
  attempt_.reset();
  out.complete = true;
  out.encoded_token = std::move(*encoded);
  return out;
}

status root_generation::cancel() {
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  attempt_.reset();
  return ok_v;
}

}  // namespace credbroker::barrier
