#include "broker/barrier/aes_gcm.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace credbroker::barrier {
namespace {

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// Fetched once: EVP_aes_256_gcm() makes OpenSSL 3 look the implementation up (locks, parameter
// lists) at every init. GCM's default IV length is the 12 bytes we use.
const EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

}  // namespace

result<std::string> encrypt(const secret& key, std::uint32_t term, std::string_view plaintext, std::string_view aad) {
  if (key.size() != key_size) return make_error(errc::internal, "encryption key has the wrong size");
  std::string out(overhead + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = 0x01;
  o[1] = static_cast<unsigned char>(term >> 24);
  o[2] = static_cast<unsigned char>(term >> 16);
  o[3] = static_cast<unsigned char>(term >> 8);
  o[4] = static_cast<unsigned char>(term);
  unsigned char* nonce = o + 5;
  if (RAND_bytes(nonce, 12) != 1) return make_error(errc::internal, "random number generator failed");
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || aes_256_gcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx.get(), aes_256_gcm(), bytes(key.reveal()), nonce, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + 17, &len, bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + 17 + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, o + 17 + plaintext.size()) != 1) {
    return make_error(errc::internal, "encryption failed");
  }
  return out;
}

result<std::uint32_t> term_of(std::string_view v) {
  if (v.size() < overhead) return make_error(errc::integrity_failure, "value is truncated");
  const auto* b = bytes(v);
  if (b[0] != 0x01) return make_error(errc::integrity_failure, "value has an unknown format version");
  return (std::uint32_t{b[1]} << 24) | (std::uint32_t{b[2]} << 16) | (std::uint32_t{b[3]} << 8) | std::uint32_t{b[4]};
}

result<std::string> decrypt(const secret& key, std::string_view v, std::string_view aad) {
  if (auto t = term_of(v); !t) return std::move(t).err();
  if (key.size() != key_size) return make_error(errc::internal, "encryption key has the wrong size");
  const auto* b = bytes(v);
  const std::size_t n = v.size() - overhead;
  std::string out(n, '\0');
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  unsigned char tag[16];
  std::copy(b + 17 + n, b + 17 + n + 16, tag);
  if (!ctx || aes_256_gcm() == nullptr ||
      EVP_DecryptInit_ex2(ctx.get(), aes_256_gcm(), bytes(key.reveal()), b + 5, nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, b + 17, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return make_error(errc::integrity_failure, "value failed authentication (tampered, truncated, or moved from another key)");
  }
  return out;
}

}  // namespace credbroker::barrier
