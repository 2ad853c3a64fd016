#pragma once
// The API's value types. A handler is a function from request to reply; the HTTP server only
// converts bytes to raw_request and raw_response to bytes, so every rule of the Vault wire format is
// testable without sockets (see service::handle).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/auth/authenticator.hpp"
#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::api {

// HTTP as received: header names lower-cased.
struct raw_request {
  std::string method;  // "GET", "LIST", ...
  std::string target;  // "/v1/sys/health?standbyok=true"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // "127.0.0.1:53412", for logs

  const std::string* header(std::string_view lower_name) const;
};

struct raw_response {
  int status = 200;
  std::string body;  // empty with 204 and HEAD
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type always set
};

// Vault's logical operations.
enum class operation { read, list, create, update, remove, head, patch };
const char* to_string(operation op);

// A request after the wire conventions were applied.
struct request {
  std::string request_id;  // UUID, echoed in the envelope
  std::string method;      // original verb, for logs
  operation op = operation::read;
  std::string path;  // below /v1/, percent-decoded; a list request ends in '/'
  std::map<std::string, std::string> query;  // "list" removed
  nlohmann::json body = nlohmann::json::object();  // always an object
  secret token;
  std::optional<auth::identity> caller;  // set once the token was accepted
  bool sudo = false;                     // the caller's ACL grants sudo on this path (root: true)
  bool operation_resolved = false;       // the existence check already ran (router::resolve_operation)
  std::map<std::string, std::string> captures;  // route parameters (":name", "*prefix")
  std::string mount;  // the mount the path fell under, e.g. "sys/"
};

// What a handler returns. The router turns it into the envelope, a raw body, an error or a 204.
struct reply {
  enum class kind { envelope, raw, error, empty };
  kind k = kind::empty;
  int status = 200;
  nlohmann::json data;  // envelope data (null allowed when there are warnings/auth/lease)
  nlohmann::json auth;  // envelope auth
  std::string lease_id;
  bool renewable = false;
  std::int64_t lease_duration = 0;
  std::vector<std::string> warnings;
  std::vector<std::string> errors;
  bool inject_top_level = false;  // legacy sys/ routes also copy data keys to the top level
  std::string content_type;        // kind::raw with a body that is not JSON (sys/metrics?format=prometheus)
  std::string text;                // ... that body

  static reply with_data(nlohmann::json data);
  static reply empty();  // 204
  static reply raw(int status, nlohmann::json body);
  static reply raw_status(int status);  // no body (HEAD)
  static reply raw_text(int status, std::string content_type, std::string body);
  static reply fail(int status, std::string message);
  static reply fail(int status, std::vector<std::string> messages);
  static reply fail(const error& e);  // status from the error code
  static reply not_found();           // 404 {"errors":[]}
};

// Vault's status for each error code; internal errors are wrapped in Go's multierror text.
int http_status(const std::error_code& code);
std::string multierror_text(const std::string& message);

}  // namespace credbroker::api
