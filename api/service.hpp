#pragma once
// service: the whole API as one function, raw HTTP request in, raw HTTP response out.
//
// Pipeline for every request:
//   1. wire conventions (wire.hpp): bad verb 405, bad JSON 400, LIST/?list, token header
//   2. route lookup (router.hpp)
//   3. sealed or uninitialised -> 503 "Vault is sealed", except routes marked available_sealed
//   4. token -> identity, unless the route is unauthenticated: no or unknown token -> 403
//      "permission denied"
//   5. ACL (deny by default): the operation (create vs update from the route's existence check) on
//      the path must be allowed by the caller's policies, and a root path (route.sudo) needs sudo;
//      otherwise 403 with Vault's multierror "permission denied" — before any 404, so a limited
//      token learns nothing about which routes exist
//   6. no mount -> 404 "no handler for route ..."; no route -> 404 unsupported path
//   7. the route's handler; the reply is rendered as envelope / raw / error / 204
// Thread: handle() is called concurrently from the worker pool; it holds no lock of its own.
#include <memory>

#include "api/message.hpp"
#include "api/router.hpp"
#include "api/sys_routes.hpp"
#include "broker/auth/authenticator.hpp"
#include "broker/auth/policy_store.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::api {

class auth_mounts;
class secret_mounts;
struct metrics_services;

// What the API serves; a null member leaves its routes out (unit tests wire only what they test).
struct services {
  const node_status& node;
  auth::authenticator& authn;
  seal_services* seal = nullptr;             // init/unseal/seal/keyring routes
  leases::lease_manager* leases = nullptr;   // sys/leases routes (with clk)
  const clock* clk = nullptr;
  auth::policy_store* policies = nullptr;    // ACLs and sys/policy routes; null: only root passes
  auth::token_store* tokens = nullptr;       // auth/token routes
  auth_mounts* auth_methods = nullptr;       // sys/auth routes and the auth methods' mounts
  secret_mounts* secrets = nullptr;          // sys/mounts routes and the secrets engines' mounts
  engine::password_policies* passwords = nullptr;  // sys/policies/password routes
  const metrics_services* metrics = nullptr;       // sys/metrics (sys_metrics.hpp)
};

class service {
 public:
  explicit service(const services& s);
  // The short form used by tests of the sys/ routes alone.
  service(const node_status& node, auth::authenticator& authn, seal_services* seal = nullptr,
          leases::lease_manager* leases = nullptr, const clock* clk = nullptr);

  raw_response handle(const raw_request& raw) const;

  router& routes() { return router_; }

 private:
  // Step 5: resolves create vs update, then checks the caller's ACL. An error reply when denied.
  reply authorize(const router::match& m, request& req) const;

  const node_status& node_;
  auth::authenticator& authn_;
  auth::policy_store* policies_ = nullptr;
  std::string cluster_;  // the cluster label of the metrics with one (request_metrics.hpp)
  router router_;
};

}  // namespace credbroker::api
