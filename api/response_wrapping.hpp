#pragma once
// response_wrapping: Vault's response wrapping (vault/wrapping.go, request_handling.go).
//
// A request with X-Vault-Wrap-TTL (request::wrap_ttl) whose response has data is not answered
// with the data: the response, rendered exactly as it would have been sent, is stored under a new
// single-use wrapping token and the answer carries only
//   {"wrap_info": {"token", "accessor", "ttl", "creation_time", "creation_path"[, "wrapped_accessor"]}}
// with every other envelope field empty, as Vault's. The wrapping token is a token-store token:
// "hvs." service token, policies ["response-wrapping"], num_uses 1, orphan, not renewable,
// TTL = explicit max TTL = the wrap TTL. What the handler did stays done: a wrapped creds response
// holds a normal lease (the database user exists; revoking the lease works).
//
// Storage, through the barrier like every other secret (store = the encrypted view):
//   core/wrapping/<accessor_key(accessor)>   {"response": <the rendered body>, "creation_ttl": s,
//                                             "creation_time": unix s, "creation_path": "..."}
// The wrapping token's accessor names its response, salted as every accessor key is.
//
// Lifecycle (invariant: a response is handed out at most once):
//   1. wrap():    token created, then the response stored; a failed store revokes the token (500)
//   2. unwrap():  under claim_mu_, the token is checked (alive, response-wrapping policy), its
//                 response read and deleted; then the token is revoked. Two concurrent unwraps of
//                 one token: the first deletes, the second finds nothing ("wrapping token is not
//                 valid or does not exist").
//   3. any revocation of the token (expiry swept by token tidy, auth/token/revoke*, its use spent on
//      another path) deletes the stored response (token_store::on_revoke listener).
// Crash points: after 1's token creation and before its store, a token without a response is left:
// it unwraps as "not valid" and is swept at its TTL. A crash inside 2 after the delete loses only
// that response (never hands it out twice).
//
// Where wrapping cannot apply (apply_wrapping): an error or a 204 is answered as is (nothing to
// wrap, as Vault); a raw response with a body (sys/health, seal-status, init, leader — Vault's own
// raw handlers, which Vault answers unwrapped) is refused with 400, so a wrap request is never
// answered with unwrapped data.
//
// Example: PUT auth/approle/role/app/secret-id with X-Vault-Wrap-TTL: 120 ->
//   {"wrap_info":{"token":"hvs.…","accessor":"…","ttl":120,"creation_time":"2026-…Z",
//     "creation_path":"auth/approle/role/app/secret-id","wrapped_accessor":<secret_id_accessor>}, …}
//   PUT sys/wrapping/unwrap (X-Vault-Token: that token) -> the original secret-id response, once.
// Thread: all methods are safe concurrently; claim_mu_ guards only the claim in unwrap (lock order:
// claim_mu_, then the token store's own locks).
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/message.hpp"
#include "broker/auth/policy.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::api {

class response_wrapping {
 public:
  response_wrapping(storage::physical& store, auth::token_store& tokens);
  response_wrapping(const response_wrapping&) = delete;
  response_wrapping& operator=(const response_wrapping&) = delete;

  // What a wrapping token holds.
  struct wrapped {
    std::string response;  // the rendered body; "" for none
    std::int64_t creation_ttl = 0;
    std::int64_t creation_time = 0;  // unix seconds
    std::string creation_path;
  };

  // Stores body under a new wrapping token; the envelope's wrap_info object.
  // wrapped_accessor: "" or the accessor of the token (or secret ID) inside.
  result<nlohmann::json> wrap(std::string body, std::chrono::seconds ttl, const std::string& creation_path,
                              const std::string& wrapped_accessor);

  // Without consuming. errc::invalid_request "wrapping token is not valid or does not exist".
  result<wrapped> lookup(const secret& token);
  // Hands the response out once and revokes the token (same error).
  result<wrapped> unwrap(const secret& token);

  static constexpr const char* prefix = "core/wrapping/";
  static constexpr const char* policy_name = "response-wrapping";

 private:
  result<std::string> key_of(const secret& token, auth::token_entry* entry);
  void forget(const std::string& accessor);  // the revoke listener

  storage::physical& store_;
  auth::token_store& tokens_;
  std::mutex claim_mu_;  // guards the read-and-delete of a response in unwrap()
};

// The hook after a route's handler: r itself when req asked for no wrapping, the wrapped envelope
// when it did and r has data, r when there is nothing to wrap (error, 204, 202), 400 when r's data
// cannot be wrapped or wrapping is not served (w == nullptr).
reply apply_wrapping(response_wrapping* w, reply r, const request& req, std::string_view mount_type);

// The ACL's wrapping bounds (policy min_wrapping_ttl / max_wrapping_ttl) against the request's
// wrap TTL: false (permission denied) when the request is outside them, as Vault's ACL.
bool within_wrapping_bounds(const auth::acl_decision& d, const std::optional<std::chrono::seconds>& wrap_ttl);

}  // namespace credbroker::api
