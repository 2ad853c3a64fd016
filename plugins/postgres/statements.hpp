#pragma once
// SQL statement templates as Vault's PostgreSQL plugin reads them, and their safe rendering.
//
// split_statements: each configured string may be base64 (decoded first), a JSON array of strings,
// or several statements separated by ';' (split outside quotes, trimmed, empties dropped). A string
// with a bare END keyword outside quotes (a DO block) is kept whole. Example:
//   "CREATE ROLE \"{{name}}\"; GRANT SELECT ON t TO \"{{name}}\";" -> 2 statements
//
// substitute: replaces {{name}}, {{username}} (same value), {{password}} and {{expiration}} with
// the driver's quoting chosen by where the placeholder stands:
//   inside '...'  -> the value escaped as a literal's content (quote_literal without outer quotes)
//   inside "..."  -> the value escaped as an identifier's content (doubled ")
//   bare          -> a complete quoted identifier (name, username) or literal (password, expiration)
// so no value can end its quotes and inject SQL. $$-quoted bodies (DO blocks) are transparent:
// their inner quotes count. Unknown {{...}} are left as written.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::plugins::postgres {

std::vector<std::string> split_statements(const std::vector<std::string>& configured);

struct quoting {
  std::function<std::string(std::string_view)> literal;     // 'it''s' (with quotes)
  std::function<std::string(std::string_view)> identifier;  // "a""b" (with quotes)
};

struct placeholders {
  std::string name;
  std::string password;
  std::string expiration;
};

std::string substitute(std::string_view statement, const placeholders& values, const quoting& q);

// PostgreSQL's SCRAM-SHA-256 verifier for a password ("SCRAM-SHA-256$4096:<salt>$<stored>:<server>"),
// computed here so the plaintext never reaches the server or its logs.
std::string scram_sha256_verifier(std::string_view password, std::string_view salt, int iterations = 4096);

// Vault's expiration format "2006-01-02 15:04:05-0700", in UTC.
std::string format_expiration(std::chrono::system_clock::time_point t);

}  // namespace credbroker::plugins::postgres
