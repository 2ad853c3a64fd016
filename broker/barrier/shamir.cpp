#include "broker/barrier/shamir.hpp"

#include <algorithm>
#include <array>
#include <numeric>

#include "broker/core/random.hpp"

namespace credbroker::barrier::shamir {

unsigned char mul(unsigned char a, unsigned char b) {
  unsigned char r = 0;
  for (int i = 0; i < 8; ++i) {
    r = static_cast<unsigned char>(r ^ (static_cast<unsigned char>(-(b & 1)) & a));
    const auto hi = static_cast<unsigned char>(-(a >> 7));
    a = static_cast<unsigned char>((a << 1) ^ (0x1b & hi));
    b = static_cast<unsigned char>(b >> 1);
  }
  return r;
}

unsigned char inverse(unsigned char a) {
  // a^254 = a^-1 in GF(2^8).
  unsigned char result = 1, base = a;
  for (int e = 254; e > 0; e >>= 1) {
    if (e & 1) result = mul(result, base);
    base = mul(base, base);
  }
  return result;
}

result<std::vector<std::string>> split(const std::string& secret, int parts, int threshold) {
  if (parts < threshold) return make_error(errc::invalid_request, "parts cannot be less than threshold");
  if (parts > 255) return make_error(errc::invalid_request, "parts cannot exceed 255");
  if (threshold < 2) return make_error(errc::invalid_request, "threshold must be at least 2");
  if (secret.empty()) return make_error(errc::invalid_request, "cannot split an empty secret");

  // Distinct non-zero x: a random permutation of 1..255 (Fisher-Yates with CSPRNG bytes).
  std::array<unsigned char, 255> xs{};
  std::iota(xs.begin(), xs.end(), static_cast<unsigned char>(1));
  for (int i = 254; i > 0; --i) {
    std::size_t j;
    {
      // Uniform j in [0, i] by rejection on two random bytes.
      const unsigned bound = static_cast<unsigned>(i) + 1;
      const unsigned limit = 65536 - (65536 % bound);
      unsigned v;
      do {
        const auto rb = random_bytes(2);
        v = (unsigned{rb[0]} << 8) | rb[1];
      } while (v >= limit);
      j = v % bound;
    }
    std::swap(xs[static_cast<std::size_t>(i)], xs[j]);
  }

  std::vector<std::string> shares(static_cast<std::size_t>(parts), std::string(secret.size() + 1, '\0'));
  for (int p = 0; p < parts; ++p) shares[static_cast<std::size_t>(p)].back() = static_cast<char>(xs[static_cast<std::size_t>(p)]);
  std::vector<unsigned char> coeffs(static_cast<std::size_t>(threshold));
  for (std::size_t i = 0; i < secret.size(); ++i) {
    coeffs[0] = static_cast<unsigned char>(secret[i]);
    const auto rnd = random_bytes(coeffs.size() - 1);
    std::copy(rnd.begin(), rnd.end(), coeffs.begin() + 1);
    for (int p = 0; p < parts; ++p) {
      const unsigned char x = xs[static_cast<std::size_t>(p)];
      unsigned char y = 0;
      for (std::size_t c = coeffs.size(); c-- > 0;) y = static_cast<unsigned char>(mul(y, x) ^ coeffs[c]);  // Horner
      shares[static_cast<std::size_t>(p)][i] = static_cast<char>(y);
    }
  }
  std::fill(coeffs.begin(), coeffs.end(), 0);
  return shares;
}

result<std::string> combine(const std::vector<std::string>& shares) {
  if (shares.size() < 2) return make_error(errc::invalid_request, "less than two shares cannot be used to reconstruct the secret");
  const std::size_t len = shares.front().size();
  if (len < 2) return make_error(errc::invalid_request, "shares must be at least two bytes long");
  for (const auto& s : shares) {
    if (s.size() != len) return make_error(errc::invalid_request, "all shares must be the same length");
  }
  std::vector<unsigned char> xs;
  for (const auto& s : shares) {
    const auto x = static_cast<unsigned char>(s.back());
    if (x == 0) return make_error(errc::invalid_request, "share has an invalid x coordinate");
    if (std::find(xs.begin(), xs.end(), x) != xs.end()) return make_error(errc::invalid_request, "duplicate share detected");
    xs.push_back(x);
  }
  std::string out(len - 1, '\0');
  for (std::size_t i = 0; i + 1 < len; ++i) {
    unsigned char acc = 0;
    for (std::size_t a = 0; a < xs.size(); ++a) {
      // Lagrange basis at 0: prod_{b != a} x_b / (x_b - x_a); subtraction is xor.
      unsigned char num = 1, den = 1;
      for (std::size_t b = 0; b < xs.size(); ++b) {
        if (a == b) continue;
        num = mul(num, xs[b]);
        den = mul(den, static_cast<unsigned char>(xs[b] ^ xs[a]));
      }
      acc = static_cast<unsigned char>(acc ^ mul(static_cast<unsigned char>(shares[a][i]), mul(num, inverse(den))));
    }
    out[i] = static_cast<char>(acc);
  }
  return out;
}

}  // namespace credbroker::barrier::shamir
