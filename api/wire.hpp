#pragma once
// Vault's wire conventions (../shared/reference/vault-api.md §1), both directions:
//
//   parse_request: raw HTTP -> request
//     - routes live under /v1/; the path is percent-decoded
//     - PUT == POST (update); GET read; DELETE delete; HEAD head; PATCH needs merge-patch+json (415);
//       LIST, or GET with ?list=<Go bool>, is a list and appends '/' to the path; other verbs -> 405
//     - body: a JSON object (empty or null is fine) for writes, nested at most max_json_depth deep
//       (400 beyond: values are copied and printed recursively), or a form (Content-Type
//       application/x-www-form-urlencoded and a body not starting with '{' or '['; values are
//       strings, a repeated key's values joined with ','); read/list/delete take the query string
//       (delete also a JSON object body, under the query)
//     - token: X-Vault-Token, else "Authorization: Bearer <t>"; X-Vault-Request is ignored
//     - X-Vault-Wrap-TTL: a duration (seconds or Go form) > 0 sets request::wrap_ttl; anything else
//       400 "error parsing X-Vault-Wrap-TTL header: ..." (Vault answers "0" unwrapped; we never do)
//   render: reply -> raw HTTP
//     - envelope {request_id, lease_id, renewable, lease_duration, data, wrap_info, warnings, auth,
//       mount_type}; wrap_info is reply::wrap_info (null unless the response was wrapped); 204 (no body) when there is nothing to say; errors as {"errors":[...]}
//     - Content-Type is exactly "application/json" on every response (hvac 0.11.2 compares it), but
//       for a raw reply that names its own (sys/metrics?format=prometheus: text/plain)
#include <optional>
#include <string_view>

#include "api/message.hpp"

namespace credbroker::api {

// Either a request ready for routing, or the error reply to send instead.
struct parsed {
  std::optional<request> req;
  reply failure;
  bool takes_body = false;  // a write (POST, PUT, PATCH): its data is the JSON body
};
inline constexpr std::size_t max_json_depth = 1000;

// Everything the header says: path, query, operation, token. The data is still empty for writes.
parsed parse_head(const raw_request& raw);
// Fills req.body from the JSON body (writes) or the query string (other operations). An error
// reply when the body is not a JSON object.
std::optional<reply> parse_body(const raw_request& raw, const parsed& head, request& req);
// Both (the two steps at once).
parsed parse_request(const raw_request& raw);

raw_response render(const reply& r, const request* req, std::string_view mount_type);

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view s);

// Percent-decoding; '+' becomes a space when form is true (query strings). nullopt on bad escapes.
std::optional<std::string> percent_decode(std::string_view s, bool form);

}  // namespace credbroker::api
