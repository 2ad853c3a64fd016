#pragma once
// Randomness from OpenSSL's CSPRNG (RAND_bytes). Every function aborts the request with
// errc::internal rather than returning weak output if the RNG fails.
#include <cstdint>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker {

// n bytes from the CSPRNG. Throws std::runtime_error if the RNG fails (it does not in practice;
// a broker that cannot make randomness must not issue credentials).
std::vector<std::uint8_t> random_bytes(std::size_t n);

// n characters uniformly from [0-9A-Za-z] (rejection sampling, no modulo bias).
// Used for lease-id suffixes (24 chars, as Vault's base62.Random) and usernames.
std::string random_alnum(std::size_t n);

// n characters uniformly from the given alphabet (1..256 distinct bytes).
std::string random_from(std::string_view alphabet, std::size_t n);

// RFC 4122 version-4 UUID, lowercase: "2f0c4e0e-5c39-4b8d-9a7b-6c3a1b2d9e10".
std::string random_uuid();

// A new token in Vault's current shape: "hvs." + 24 alphanumerics.
secret random_token();

}  // namespace credbroker
