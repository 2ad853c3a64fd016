#pragma once
// record: what the audit component is told about one request and its response — plain values, no
// HTTP (api/ fills them in; see api/audit_hook.hpp). Field names follow Vault's logical.Auth,
// logical.Request and logical.Response as its audit entries show them (audit/format.go).
//
// Values are in clear here; the formatter (format.hpp) HMACs what it must for each device. The
// tokens travel as `secret` so that no log line can print them by accident.
//
// Example: a root token reading database/creds/app from 127.0.0.1:53412 is
//   auth    {client_token: <root>, display_name: "root", policies: ["root"], token_type: "service"}
//   request {id: <uuid>, operation: "read", mount_type: "database", mount_point: "database/",
//            path: "database/creds/app", remote_address: "127.0.0.1", remote_port: 53412,
//            client_token: <root>}
//   response{data: {username, password}, lease_id: "database/creds/app/...", lease_duration ...}
// Thread: value types.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::audit {

// A token's identity: the caller of a request, or the token a response issued.
struct auth_record {
  secret client_token;   // empty: no token (an unauthenticated route such as an AppRole login)
  std::string accessor;
  std::string display_name;
  std::vector<std::string> policies;
  std::vector<std::string> token_policies;
  std::map<std::string, std::string> metadata;
  std::string token_type;             // "service"; empty: no token (Vault prints "default")
  std::int64_t token_ttl = 0;         // seconds; 0: never expires
  std::int64_t token_issue_time = 0;  // unix seconds; 0: unknown
  std::int64_t num_uses = 0;          // a response's token only
  std::optional<bool> policy_allowed;  // Vault's policy_results.allowed, once the ACL was checked
};

struct request_record {
  std::string id;           // the request id echoed in the response envelope
  std::string operation;    // "read", "list", "create", "update", "delete", "patch"
  std::string mount_type;   // "database", "system", "token", "approle"; empty: no mount
  std::string mount_point;  // "database/"
  std::string path;         // below /v1/, as routed ("database/creds/app")
  nlohmann::json data;      // the parameters (JSON body, or the query of a read); null: none
  std::string remote_address;
  int remote_port = 0;
  secret client_token;
  std::string client_token_accessor;
};

// Vault's wrap_info of a wrapped response.
struct wrap_record {
  secret token;
  std::string accessor;
  std::int64_t ttl = 0;  // seconds
  time_point creation_time{};
  std::string creation_path;
  std::string wrapped_accessor;
};

struct response_record {
  nlohmann::json data;  // null: no data
  std::optional<auth_record> auth;  // the token a login or token create issued
  std::string lease_id;             // empty: no lease
  std::optional<wrap_record> wrap_info;
  std::vector<std::string> warnings;
};

// One audit event: a request entry (response empty) or a response entry.
struct log_input {
  auth_record auth;  // the caller
  request_record request;
  std::optional<response_record> response;
  std::string error;  // the error answered, in clear ("permission denied"); empty: none
};

}  // namespace credbroker::audit
