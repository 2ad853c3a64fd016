#pragma once
// record_codec: the engine's records <-> their stored JSON, and the redacted form of a connection
// config that reads answer.
//
// Stored forms (under the mount's prefix, through the barrier):
//   config/<name>        config_to_json      (root password included, in connection_details)
//   role/<name>          role_to_json
//   static-role/<name>   static_role_to_json (the account's current password included)
// Every field has a default when it is missing, so records written by earlier versions still load;
// a text that is not a JSON object, or a field of the wrong type, gives nullopt (the caller reports
// the record as damaged). rotation_state's times are stored as milliseconds since the epoch.
//
// Invariant: x_from_json(x_to_json(r).dump()) gives r back, field by field (times to the
// millisecond). redacted_config never holds
// "password", "private_key" or "service_account_json", and a literal password in connection_url is
// replaced by "xxxxx" (a {{password}} template is kept).
//
// Example: literal_url_password("postgresql://admin:hunter2@db/x") is the span of "hunter2";
// redacted_config then answers connection_url "postgresql://admin:xxxxx@db/x".
//
// Thread: pure functions.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "broker/engine/records.hpp"

namespace credbroker::engine {

nlohmann::json rotation_to_json(const rotation_state& r);
rotation_state rotation_from_json(const nlohmann::json& j);

nlohmann::json config_to_json(const connection_config& c);
std::optional<connection_config> config_from_json(std::string_view text);

nlohmann::json role_to_json(const role& r);
std::optional<role> role_from_json(std::string_view text);

nlohmann::json static_role_to_json(const static_role& r);
std::optional<static_role> static_role_from_json(std::string_view text);

// The form of a config for reads: no password; literal URL passwords masked; root rotation with
// Vault's field names (and credbroker's earlier root_rotation_*), its last and next run and error.
nlohmann::json redacted_config(const connection_config& c);

// "scheme://user:pass@host/..." -> {offset, length} of "pass" when it is a literal (not a
// {{template}}); nullopt otherwise.
std::optional<std::pair<std::size_t, std::size_t>> literal_url_password(const std::string& url);

}  // namespace credbroker::engine
