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
  // Set by request_handler::authenticate() when the server checked the token from the header,
  // before it read the body: handle() acts as this caller and does not check the token again.
  std::optional<auth::identity> caller;

  const std::string* header(std::string_view lower_name) const;
};

struct raw_response {
  int status = 200;
  std::string body;  // empty with 204 and HEAD
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type always set
};

// What the server does with a request whose header has arrived and whose body has not been read.
struct head_decision {
  std::optional<raw_response> refuse;  // answer this at once; an unread body is never read
  bool open = false;         // an unauthenticated route: the small unauthenticated body limit applies
  bool needs_token = false;  // authenticate() must accept the token before a body is read
};

// The API as the HTTP server drives it, one request at a time in three steps (api::service):
//   1. inspect(head)       the header alone, on the I/O thread: cheap, never blocks
//   2. authenticate(head)  only when a body follows and inspect() asked for it, on the worker pool
//                          (the token store may read storage); a refusal, or head.caller is set
//   3. handle(request)     the whole request, on the worker pool (the I/O thread for inline paths)
// A request without a body skips step 2: handle() checks its token itself. Either way the token is
// checked once. handle() alone is the whole pipeline (unit tests, the fuzz target).
// Thread: every method may be called from many threads at once.
class request_handler {
 public:
  virtual ~request_handler() = default;
  virtual head_decision inspect(const raw_request& head) const = 0;
  virtual std::optional<raw_response> authenticate(raw_request& head) const = 0;
  virtual raw_response handle(const raw_request& req) const = 0;
  // The request log's form of a target: the path without the query, every token, accessor, secret
  // id or lease id in it replaced by "hmac-sha256:<hex>".
  virtual std::string loggable_path(std::string_view target) const = 0;
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
  // The client's IP: the TCP peer, or the address an authorized proxy named in X-Forwarded-For
  // (forwarded_for.hpp). CIDR bindings (AppRole, token_bound_cidrs) are checked against it.
  std::string client_address;
  // X-Vault-Wrap-TTL: the response is to be wrapped for this long (response_wrapping.hpp).
  std::optional<std::chrono::seconds> wrap_ttl;
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
  nlohmann::json wrap_info;       // envelope wrap_info: set once the response was wrapped

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
