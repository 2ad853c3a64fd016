#include "broker/core/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace credbroker {

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return out;
}

std::string random_from(std::string_view alphabet, std::size_t n) {
  if (alphabet.empty() || alphabet.size() > 256) throw std::invalid_argument("bad alphabet size");
  // Largest multiple of the alphabet size below 256: bytes at or above it are rejected.
  const unsigned limit = 256 - (256 % alphabet.size());
  std::string out;
  out.reserve(n);
  std::array<std::uint8_t, 64> buf{};
  while (out.size() < n) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    for (std::uint8_t b : buf) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % alphabet.size()]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string random_alnum(std::size_t n) {
  static constexpr std::string_view alnum =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return random_from(alnum, n);
}

std::string random_uuid() {
  auto b = random_bytes(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0x0f]);
  }
  return out;
}

secret random_token() { return secret("hvs." + random_alnum(24)); }

}  // namespace credbroker
