#pragma once
// service: the whole API as one function, raw HTTP request in, raw HTTP response out.
//
// Pipeline for every request:
//   1. wire conventions (wire.hpp): bad verb 405, bad JSON 400, LIST/?list, token header
//   2. route lookup (router.hpp)
//   3. sealed or uninitialised -> 503 "Vault is sealed", except routes marked available_sealed
//   4. token -> identity, unless the route is unauthenticated: no or unknown token -> 403
//   5. no mount -> 404 "no handler for route ..."; no route -> 404 unsupported path
//   6. the route's handler; the reply is rendered as envelope / raw / error / 204
// Thread: handle() is called concurrently from the worker pool; it holds no lock of its own.
#include <memory>

#include "api/message.hpp"
#include "api/router.hpp"
#include "api/sys_routes.hpp"
#include "broker/auth/authenticator.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::api {

class service {
 public:
  // seal: the init/unseal/seal/keyring routes; null leaves them out (unit tests with a fixed state).
  // leases: the sys/leases routes; null leaves them out.
  service(const node_status& node, const auth::authenticator& authn, seal_services* seal = nullptr,
          leases::lease_manager* leases = nullptr, const clock* clk = nullptr);

  raw_response handle(const raw_request& raw) const;

  router& routes() { return router_; }

 private:
  const node_status& node_;
  const auth::authenticator& authn_;
  router router_;
};

}  // namespace credbroker::api
