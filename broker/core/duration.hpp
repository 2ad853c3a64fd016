#pragma once
// Durations as Vault reads and writes them.
//
// Input (Vault's parseutil.ParseDurationSecond + framework TypeDurationSecond):
//   - an integer number of seconds, as a JSON number or a string: 3600, "3600"
//   - a whole number of days with a "d" suffix: "7d"
//   - a Go duration string: "90s", "1h30m", "1.5h", "250ms" (fractions truncated to whole seconds)
//   - "" or JSON null: not provided
//   Negative values are refused ("cannot provide negative value").
//   Values above max_duration (100 years) are refused, so no TTL, period or increment the API
//   accepts can overflow a time computation: "now + d" stays far inside the range of
//   std::chrono::system_clock (year 2262) and of Go's time.Duration (292 years), which Vault's
//   clients also use. Example: "9223372036" -> duration "9223372036" is out of range: the largest
//   accepted is 876000h0m0s (100 years).
// Output: Go's time.Duration.String() form for messages ("1h0m0s", "90s" -> "1m30s").
#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "broker/core/result.hpp"

namespace credbroker {

// The largest duration accepted anywhere (TTLs, periods, increments, intervals): 100 years.
inline constexpr std::chrono::seconds max_duration{100LL * 365 * 24 * 3600};

// Go's time.ParseDuration; result in nanoseconds. Error texts as Go's ("time: invalid duration \"x\"").
result<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

// Vault's TypeDurationSecond conversion of a JSON value (number or string); null/"" -> 0.
result<std::chrono::seconds> parse_duration_value(const nlohmann::json& value);
result<std::chrono::seconds> parse_duration_seconds(std::string_view text);

// Go's time.Duration.String() for whole seconds: 0 -> "0s", 90 -> "1m30s", 3600 -> "1h0m0s".
std::string format_go_duration(std::chrono::seconds d);

// Vault's humanDuration: Go's Duration.String() without trailing zero units: 3600 -> "1h",
// 5400 -> "1h30m", 90 -> "1m30s", 7205 -> "2h5s", 0 -> "0s". Vault's TTL warnings use it.
std::string human_duration(std::chrono::seconds d);

// RFC 3339 in UTC with Go's RFC3339Nano trimming of trailing zeros: "2026-11-23T07:09:05.12Z".
std::string format_rfc3339_nano(std::chrono::system_clock::time_point t);
// The same for whole unix seconds, for any int64 (no nanosecond overflow): 0 -> "1970-01-01T00:00:00Z".
std::string format_rfc3339_seconds(std::int64_t unix_seconds);

}  // namespace credbroker
