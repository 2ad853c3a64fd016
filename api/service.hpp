#pragma once
// service: the whole API as one function, raw HTTP request in, raw HTTP response out.
//
// Pipeline for every request:
//   1. wire conventions of the header (wire.hpp): bad verb 405, PATCH type 415, LIST/?list, token
//   2. route lookup (router.hpp)
//   3. sealed or uninitialised -> 503 "Vault is sealed", except routes marked available_sealed
//   4. token -> identity, unless the route is unauthenticated: no or unknown token -> 403
//      "permission denied"
//   5. the body: not a JSON object -> 400 (so nothing without a valid token ever has its body parsed)
//   6. ACL (deny by default): the operation (create vs update from the route's existence check) on
//      the path must be allowed by the caller's policies, and a root path (route.sudo) needs sudo;
//      otherwise 403 with Vault's multierror "permission denied" — before any 404, so a limited
//      token learns nothing about which routes exist
//   7. no mount -> 404 "no handler for route ..."; no route -> 404 unsupported path
//   8. the route's handler; the reply is rendered as envelope / raw / error / 204
// Auditing (audit_hook.hpp) wraps steps 4-8: a refusal at 4 or 6 is audited with its error (at 4
// also when inspect() or authenticate() refuses, without the body, which is never read); then the
// request entry before 7 (500 if no device recorded it) and the response entry after 8.
//   9. X-Vault-Wrap-TTL: a reply with data is wrapped (response_wrapping.hpp); the ACL of step 6
//      also enforces the policy's min/max_wrapping_ttl
// The HTTP server runs steps 1-4 from the header alone, before it reads a body (request_handler in
// message.hpp): inspect() is steps 1-3 and refuses a protected route without a token at once;
// authenticate() is step 4; handle() runs what is left (all of it when called alone). Which routes
// are unauthenticated comes from the routes themselves (route::unauthenticated).
//
// The request log names paths through loggable_path(): every path segment the routes capture as a
// token, accessor, secret id or lease id (router::loggable_path) is written as
// "hmac-sha256:<hex>", keyed by a random key of this process (the same value gives the same HMAC
// within one run of the server; the audit devices keep their own salt).
// Thread: every method is called concurrently from the I/O threads and the worker pool; the service
// holds no lock of its own.
#include <memory>

#include "api/message.hpp"
#include "api/router.hpp"
#include "api/sys_routes.hpp"
#include "api/wire.hpp"
#include "broker/audit/audit_broker.hpp"
#include "api/mount_routes.hpp"
#include "broker/audit/audit_table.hpp"
#include "broker/auth/authenticator.hpp"
#include "broker/auth/policy_store.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::api {

class response_wrapping;
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
  mounts::auth_mounts* auth_methods = nullptr;       // sys/auth routes and the auth methods' mounts
  mounts::secret_mounts* secrets = nullptr;          // sys/mounts routes and the secrets engines' mounts
  engine::password_policies* passwords = nullptr;  // sys/policies/password routes
  audit::audit_table* audit_devices = nullptr;     // sys/audit routes
  audit::audit_broker* audit = nullptr;            // every request and response is audited (audit_hook.hpp)
  const metrics_services* metrics = nullptr;       // sys/metrics (sys_metrics.hpp)
  response_wrapping* wrapping = nullptr;  // X-Vault-Wrap-TTL and sys/wrapping routes; null: 400 on a wrap request
};

class service final : public request_handler {
 public:
  explicit service(const services& s);
  // The short form used by tests of the sys/ routes alone.
  service(const node_status& node, auth::authenticator& authn, seal_services* seal = nullptr,
          leases::lease_manager* leases = nullptr, const clock* clk = nullptr);

  head_decision inspect(const raw_request& head) const override;
  std::optional<raw_response> authenticate(raw_request& head) const override;
  raw_response handle(const raw_request& raw) const override;
  std::string loggable_path(std::string_view target) const override;

  router& routes() { return router_; }
  const router& routes() const { return router_; }

 private:
  // Steps 1-3 on the header: the parsed request and its route, or the response to send instead.
  struct head_result {
    parsed p;
    router::match m;
    std::string mount_type;
    bool open = false;
    std::optional<raw_response> refusal;
  };
  head_result examine(const raw_request& raw) const;
  // Step 6: resolves create vs update, then checks the caller's ACL. An error reply when denied.
  reply authorize(const router::match& m, request& req) const;
  // Step 4's 403 for a missing or refused token, audited as a refusal.
  raw_response refuse_token(head_result& h, const raw_request& raw, bool address_refused) const;
  std::string hmac(std::string_view value) const;

  const node_status& node_;
  auth::authenticator& authn_;
  auth::policy_store* policies_ = nullptr;
  audit::audit_broker* audit_ = nullptr;
  std::string cluster_;  // the cluster label of the metrics with one (request_metrics.hpp)
  response_wrapping* wrapping_ = nullptr;
  router router_;
  secret_mount_routes secret_routes_{router_};  // the tables' mounts into router_
  auth_mount_routes auth_routes_{router_};
  secret log_key_;  // keys the HMACs in loggable_path; random per process
};

}  // namespace credbroker::api
