#pragma once
// standby_forwarding: what an HA standby does with a request (Vault's http/handler.go). The node
// below tells the API only "standby, the active is at ADDR" (node_status::ha()); the HTTP lives here.
//
//   served here on every node   sys/health (429 on a standby by default: sys_health.cpp),
//                               sys/seal-status, sys/leader, sys/init, sys/unseal
//   everything else, standby    forwarded to the active's api_addr: a reverse proxy over HTTP that
//                               keeps the method (LIST too), path and query, the headers (X-Vault-Token
//                               included) and the body, and returns the active's status, headers and
//                               body; X-Forwarded-For gets the client's address
//   ... or, redirect mode       307 Temporary Redirect to api_addr + path + query (Vault's behaviour
//                               without request forwarding): the config's disable_clustering = true,
//                               a request with X-Vault-No-Request-Forwarding, or an https api_addr
//                               (this proxy speaks plain HTTP only)
//   no active known             503 {"errors":["no active Vault instance found"]} (Vault's respondStandby)
//   the active unreachable      503 {"errors":["the active node at ADDR could not be reached: ..."]}
//   already forwarded once      503 as "no active" (a stale leader address must not make a loop):
//                               the proxy marks its requests with X-Credbroker-Forwarded
// A node that is not in HA mode, sealed, or active passes every request to the API unchanged.
//
// Example: a standby whose active is http://10.0.0.5:8200 gets GET /v1/database/creds/app with
// X-Vault-Token: s.abc; it sends GET /v1/database/creds/app with the same token to 10.0.0.5:8200
// and answers the active's 200 and body; with disable_clustering it answers 307 with
// Location: http://10.0.0.5:8200/v1/database/creds/app.
//
// Thread: every method is called concurrently from I/O threads and request workers; forwarding
// blocks the calling worker for one round trip (a new connection per request; at most `timeout`).
// No lock.
#include <chrono>
#include <string>

#include "api/message.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::api {

struct forwarding_options {
  bool redirect = false;  // disable_clustering: 307 instead of forwarding
  std::chrono::seconds timeout{60};
  std::size_t body_limit = 64 * 1024 * 1024;  // of the active's response
};

class standby_forwarding final : public request_handler {
 public:
  standby_forwarding(const node_status& node, const request_handler& inner, forwarding_options options);

  head_decision inspect(const raw_request& head) const override;
  std::optional<raw_response> authenticate(raw_request& head) const override;
  raw_response handle(const raw_request& req) const override;
  std::string loggable_path(std::string_view target) const override { return inner_.loggable_path(target); }

 private:
  // True when this node is an HA standby and the request is not one it serves itself; `leader` is
  // then the active's api_addr (empty: no active known).
  bool goes_to_active(const raw_request& r, std::string& leader) const;
  raw_response to_active(const raw_request& r, const std::string& leader) const;
  raw_response forward(const raw_request& r, const std::string& leader) const;

  const node_status& node_;
  const request_handler& inner_;
  const forwarding_options options_;
};

// Vault's 307 to the active: api_addr's scheme and host, the request's path and query.
raw_response redirect_to(const std::string& leader_api_addr, const std::string& target);

}  // namespace credbroker::api
