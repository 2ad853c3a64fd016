#pragma once
// AES-256-GCM with OpenSSL EVP, in the barrier's value format:
//
//   byte 0      version (0x01)
//   bytes 1-4   key term, big-endian (which keyring key encrypted it; 0 = the root key)
//   bytes 5-16  nonce: 96 random bits, fresh for every encryption
//   ...         ciphertext (same length as the plaintext)
//   last 16     GCM tag
//
// The additional authenticated data is the storage key the value lives under, so a value copied to
// another key fails to decrypt. Any change to any byte fails authentication.
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::barrier {

inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t overhead = 1 + 4 + 12 + 16;

// key must hold key_size bytes.
result<std::string> encrypt(const secret& key, std::uint32_t term, std::string_view plaintext, std::string_view aad);

// The term a sealed value claims (to pick the key); error if too short or unknown version.
result<std::uint32_t> term_of(std::string_view sealed_value);

// Error texts name nothing secret; the caller adds the storage key.
result<std::string> decrypt(const secret& key, std::string_view sealed_value, std::string_view aad);

}  // namespace credbroker::barrier
