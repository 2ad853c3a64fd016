#pragma once
// Typed reading of a plugin's connection config (the JSON object of database/config/<name>), with
// Vault's wording for a bad field and errc::invalid_request as the domain code.
//
// Spec, per reader (`key` names the field in every message):
//   optional_string  absent or null -> ""; a string -> itself; else "<key> must be a string"
//   required_string  absent, null or "" -> "<key> cannot be empty"; non-string -> "<key> must be a string"
//   integer          absent or null -> the default; a JSON integer, or a string that is wholly a
//                    decimal integer ("5", not "5s" or "5.0") -> its value; else "<key> must be an integer"
//   integer_in       integer, then outside [min, max] -> "<key> must be between <min> and <max>"
//   port             a JSON value (integer or decimal string) in 1..65535; `what` names it:
//                    "<what> must be an integer" / "<what> must be between 1 and 65535"
//   flag             absent, null or anything else -> false; true, "true", "1", "True", "TRUE", "t" -> true
//   duration         absent or null -> the default; else broker/core/duration.hpp's reading (seconds,
//                    "7d", Go durations); a bad value -> "invalid <key>: <why>"
// Example: integer({"max_open_connections": "8"}, "max_open_connections", 4) -> 8;
//          integer({"max_open_connections": 8.5}, ...) -> "max_open_connections must be an integer".
//
// Thread: pure functions.
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"

namespace credbroker::plugins::common {

result<std::string> optional_string(const nlohmann::json& cfg, const char* key);
result<std::string> required_string(const nlohmann::json& cfg, const char* key);
result<std::int64_t> integer(const nlohmann::json& cfg, const char* key, std::int64_t dflt);
result<std::int64_t> integer_in(const nlohmann::json& cfg, const char* key, std::int64_t dflt, std::int64_t min,
                                std::int64_t max);
result<int> port(const nlohmann::json& value, const std::string& what);
bool flag(const nlohmann::json& cfg, const char* key);
result<std::chrono::seconds> duration(const nlohmann::json& cfg, const char* key, std::chrono::seconds dflt);

}  // namespace credbroker::plugins::common
