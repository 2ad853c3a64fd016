#pragma once
// Shamir's secret sharing over GF(2^8) (the AES field, x^8+x^4+x^3+x+1), byte by byte.
//
// split(secret, parts, threshold): for each secret byte s, a random polynomial of degree
// threshold-1 with constant term s is evaluated at `parts` distinct random non-zero x. A share is the
// evaluations followed by its x (so it is one byte longer than the secret), as Vault's shares are.
// combine(shares): Lagrange interpolation at x = 0. Any `threshold` shares give the secret back;
// fewer give a value that is independent of the secret (each byte is uniformly random).
//
// Example: split("k", 3, 2) -> {"\x5a\x07", "\x91\xc3", "\x2e\x88"} (random); any two combine to "k".
// Constraints: 2 <= threshold <= parts <= 255; combine rejects fewer than 2 shares, shares of
// different lengths, and duplicate x (the same share given twice).
#include <string>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::barrier::shamir {

result<std::vector<std::string>> split(const std::string& secret, int parts, int threshold);
result<std::string> combine(const std::vector<std::string>& shares);

// Field arithmetic, exposed for tests. mul is constant-time.
unsigned char mul(unsigned char a, unsigned char b);
unsigned char inverse(unsigned char a);  // a != 0

}  // namespace credbroker::barrier::shamir
