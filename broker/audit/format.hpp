#pragma once
// format: one audit entry per event, in Vault's shape (audit/format.go; field order is free, empty
// fields are left out as Go's omitempty does).
//
// Request entry:
//   {"time": RFC 3339 nano UTC, "type": "request",
//    "auth": {client_token, accessor, display_name, policies, token_policies, metadata, token_type,
//             token_ttl, token_issue_time, policy_results: {allowed}},
//    "request": {id, operation, mount_type, mount_point, path, data, namespace: {id: "root"},
//                remote_address, remote_port, client_token, client_token_accessor},
//    "error": "..."}
// Response entry: the same "auth" and "request", and
//    "response": {mount_type, mount_point, data, secret: {lease_id}, auth: {...}, wrap_info:
//                 {token, accessor, ttl, creation_time, creation_path, wrapped_accessor}, warnings}
//
// What is hashed (salt::hmac, "hmac-sha256:<hex>") with the device's salt:
//   always    auth.client_token, request.client_token, response.auth.client_token,
//             response.wrap_info.token, and in request and response data every value under a
//             secret key (hashing.hpp: password, token, secret_id, private_key, ...), even with log_raw
//   hmac_accessor (default true)   auth.accessor, request.client_token_accessor,
//             response.auth.accessor, wrap_info.accessor and wrapped_accessor
//   unless log_raw   every other string in request.data and response.data (RFC 3339 timestamps
//             excepted), as Vault does
// Never hashed: paths, lease ids, policies, display names, mount names, the error text.
// elide_list_responses: a list response's data.keys / data.key_info become their counts.
//
// The line is prefix + entry + "\n"; format "jsonx" renders the same entry as Vault's JSONx (IBM's
// JSON-as-XML: <json:string name="type">request</json:string>..., object members sorted by name,
// no XML declaration), one entry per line too.
// Thread: pure functions.
#include <string>

#include <nlohmann/json.hpp>

#include "broker/audit/hashing.hpp"
#include "broker/audit/record.hpp"
#include "broker/core/clock.hpp"

namespace credbroker::audit {

enum class format_kind { json, jsonx };

struct format_options {
  format_kind format = format_kind::json;
  std::string prefix;
  bool hmac_accessor = true;
  bool log_raw = false;
  bool elide_list_responses = false;
};

// The line a device writes for an event: prefix, the entry in the device's format, "\n". The JSON
// is written straight into the line (json_text.hpp), hashing data on the way, without a copy of the
// request or response data.
std::string request_line(const log_input& in, const salt& s, const format_options& o, time_point now);
std::string response_line(const log_input& in, const salt& s, const format_options& o, time_point now);

// JSON -> JSONx (jsonx.cpp). The members of the top-level object are rendered one after another,
// as Vault's writer does; element text and attribute values are XML-escaped.
std::string to_jsonx(const nlohmann::json& entry);

}  // namespace credbroker::audit
