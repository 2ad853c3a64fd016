#pragma once
// What the CLI prints for a server reply, in the vault CLI's three formats (command/format.go and
// command/util.go of the vault CLI are the reference; facts, not code, were taken from them).
//
// A "secret" is a Vault response body: {request_id, lease_id, lease_duration, renewable, data,
// warnings, auth, wrap_info, mount_type}.
//
//   table  Key/Value rows (table.hpp): first lease_id, lease_duration, lease_renewable when the
//          lease duration is > 0 (refresh_interval instead when there is no lease id); then, with
//          an auth block, token, token_accessor, token_duration ("∞" for 0), token_renewable,
//          token_policies, identity_policies, policies (Go's %q of a list: ["default" "root"]) and
//          token_meta_<key> rows; then wrap_info rows; then data, sorted by key. Values are Go's %v
//          text (value_text); an integer under a key that looks like a duration (ttl, *_ttl,
//          period, *_period, duration, *_duration, lease_max, ttl_max) is a Go duration without
//          zero units (3600 -> "1h", 90 -> "1m30s", 0 -> "0s").
//   json   the secret with Vault's field order, indented by two spaces.
//   yaml   the same value as YAML (yaml.hpp), keys sorted.
//
// -field=NAME (raw_field): with an auth block, token / token_accessor / token_duration /
// token_renewable / token_policies / identity_policies / policies name the auth fields; with a
// wrap_info block, wrapping_token / wrapping_accessor / wrapping_token_ttl /
// wrapping_token_creation_time / wrapping_token_creation_path / wrapped_accessor; otherwise
// lease_id, lease_duration, request_id, renewable, refresh_interval, and "data" (data.data, else
// data); any other name is data[NAME]. A missing or null field is nullopt ("Field \"x\" not present
// in secret", exit 1). The field is printed as value_text in table format, else as JSON or YAML.
//
// Thread: pure functions.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"

namespace credbroker::cli {

enum class output_format { table, json, yaml };

// "table", "json", "yaml" or "yml"; otherwise "Invalid output format: x".
result<output_format> parse_output_format(const std::string& name);

// Go's fmt %v of a decoded JSON value: strings bare, null "<nil>", lists "[a b]",
// objects "map[k:v k2:v2]" (keys sorted), numbers as written.
std::string value_text(const nlohmann::json& v);
// Go's %q of a list of strings: ["a" "b"].
std::string quoted_list_text(const nlohmann::json& v);
// Go's time.Duration text of whole seconds without zero units: 3600 -> "1h", 3601 -> "1h1s".
std::string human_duration(std::int64_t seconds);
bool looks_like_duration(const std::string& key);

// The Key/Value table of a secret; "" when it has nothing to show.
std::string secret_table(const nlohmann::json& secret);
// The warnings block Vault prints to stderr before a table ("" when none).
std::string warnings_text(const nlohmann::json& secret);
// The secret in json or yaml (table: secret_table).
std::string format_secret(const nlohmann::json& secret, output_format f);

// A plain value (a map, a list, a string) as OutputData prints it: table of a map is Key/Value
// rows, table of a list one line per item; json/yaml as above.
std::string format_data(const nlohmann::json& data, output_format f);
// LIST keys: table "Keys\n----\n" + sorted keys; json/yaml the keys array.
std::string format_keys(const nlohmann::json& keys, output_format f);

std::optional<nlohmann::json> raw_field(const nlohmann::json& secret, const std::string& field);
std::string format_field(const nlohmann::json& value, output_format f);

// JSON indented by two spaces (Go's MarshalIndent layout).
std::string json_text(const nlohmann::json& v);

}  // namespace credbroker::cli
