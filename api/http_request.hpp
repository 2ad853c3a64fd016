#pragma once
// http_request: the server's reading of one request, from parsed header to handler, without
// sockets. http_server drives it over a connection; the fuzz target (fuzz/http_request_fuzz.cpp)
// drives the same functions from bytes in memory.
//
// One request, in order (each step may answer and stop):
//   1. header: Beast's request_parser, at most header_limit bytes (431 beyond, 400 if malformed);
//      its body limit starts at the larger of the two limits below (Beast checks Content-Length
//      against it when the header ends)
//   2. judge_header: the handler's inspect() on the header alone; a refusal is answered at once
//      (a body that follows is never read: the connection closes after the answer). An open
//      (unauthenticated) route may have a body of unauthenticated_body_limit bytes, any other
//      body_limit; a Content-Length above it is 413 before a byte of the body is read
//   3. a body follows and the route needs a token: authenticate() first (worker pool), 403 and
//      close when it refuses
//   4. the body, up to the limit (413 and close beyond, for chunked bodies too)
//   5. handle() with the whole request
// Example: "POST /v1/database/config/x" with "Content-Length: 33554432" and no X-Vault-Token is
// answered 403 {"errors":["permission denied"]} after the header; the 32 MiB are never buffered.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/message.hpp"

namespace credbroker::api {

struct request_limits {
  std::size_t body_limit = 32 * 1024 * 1024;          // Vault's max_request_size default
  std::size_t unauthenticated_body_limit = 64 * 1024;  // routes without a token (login, unseal, init)
  std::size_t header_limit = 16 * 1024;                // request line and header fields together
};

// Paths (no query) whose handlers are cheap and never block: the server answers them on the I/O
// thread, so liveness probes keep answering while every worker waits on a database; they are also
// all a connection admitted beyond max_connections may ask for.
inline const std::vector<std::string> default_inline_paths = {"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/init"};

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Step 1's settings on a fresh parser.
void prepare_parser(request_parser& parser, const request_limits& limits);

// The header as the handler sees it: header names lower-cased, no body yet.
raw_request head_of(const boost::beast::http::request_header<>& header, std::string remote);

// Step 2's outcome.
struct header_verdict {
  std::optional<raw_response> refuse;  // answer this (then close when a body was pending)
  bool authenticate_first = false;     // step 3 runs before the body is read
  std::size_t body_limit = 0;          // for step 4 (already set on the parser)
};
// `probe_only`: the connection was admitted beyond max_connections, for inline paths alone.
header_verdict judge_header(const request_handler& handler, const raw_request& head, request_parser& parser,
                            const request_limits& limits, bool probe_only, bool inline_path);

// Vault-format error responses the server makes itself.
raw_response error_response(int status, const std::string& message);
// For a parse error of step 1 or 4: 431, 413 or 400, with its message.
raw_response parse_error_response(const boost::system::error_code& ec);

// True when the client asked for "Expect: 100-continue" (it waits for a 100 before the body).
bool expects_continue(const boost::beast::http::request_header<>& header);

}  // namespace credbroker::api
