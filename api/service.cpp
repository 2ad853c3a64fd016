#include "api/service.hpp"

#include "api/auth_mounts.hpp"
#include "api/request_metrics.hpp"
#include "api/secret_mounts.hpp"
#include "api/sys_metrics.hpp"
#include "api/sys_routes.hpp"
#include "api/wire.hpp"

namespace credbroker::api {

service::service(const node_status& node, auth::authenticator& authn, seal_services* seal,
                 leases::lease_manager* leases, const clock* clk)
    : service(services{node, authn, seal, leases, clk}) {}

service::service(const services& svc) : node_(svc.node), authn_(svc.authn), policies_(svc.policies) {
  seal_services* seal = svc.seal;
  leases::lease_manager* leases = svc.leases;
  const clock* clk = svc.clk;
  auto sys = std::make_shared<mount_table_entry>();
  sys->path = "sys/";
  sys->type = "system";
  sys->routes.push_back(sys_health_route(node_));
  sys->routes.push_back(sys_seal_status_route(node_));
  sys->routes.push_back(sys_leader_route(node_));
  if (seal != nullptr) {
    // "init" takes GET (status) and PUT (initialise): one route with both operations.
    route init = sys_init_write_route(*seal);
    init.operations[operation::read] = sys_init_route(node_).operations.at(operation::read);
    sys->routes.push_back(std::move(init));
    sys->routes.push_back(sys_unseal_route(*seal));
    sys->routes.push_back(sys_seal_route(*seal));
    sys->routes.push_back(sys_rotate_route(*seal));
    sys->routes.push_back(sys_key_status_route(*seal));
  } else {
    sys->routes.push_back(sys_init_route(node_));
  }
  if (leases != nullptr && clk != nullptr) {
    for (auto& r : sys_lease_routes(*leases, *clk)) sys->routes.push_back(std::move(r));
  }
  if (policies_ != nullptr) {
    for (auto& r : sys_policy_routes(*policies_)) sys->routes.push_back(std::move(r));
    if (svc.tokens != nullptr) {
      for (auto& r : sys_capabilities_routes(*policies_, *svc.tokens)) sys->routes.push_back(std::move(r));
    }
  }
  if (svc.auth_methods != nullptr) {
    for (auto& r : sys_auth_routes(*svc.auth_methods)) sys->routes.push_back(std::move(r));
    svc.auth_methods->attach(router_);
  }
  if (svc.secrets != nullptr) {
    for (auto& r : sys_mount_routes(*svc.secrets, svc.auth_methods)) sys->routes.push_back(std::move(r));
    svc.secrets->attach(router_);
  }
  for (auto& r : sys_internal_ui_routes(svc.secrets, svc.auth_methods, authn_, policies_)) sys->routes.push_back(std::move(r));
  if (svc.passwords != nullptr) {
    for (auto& r : sys_password_policy_routes(*svc.passwords)) sys->routes.push_back(std::move(r));
  }
  if (svc.metrics != nullptr) sys->routes.push_back(sys_metrics_route(*svc.metrics));
  if (svc.metrics != nullptr) cluster_ = svc.metrics->settings.cluster_name;
  router_.add_mount(std::move(sys));
  static const system_clock wall;
  if (svc.tokens != nullptr) router_.add_mount(token_mount(*svc.tokens, clk != nullptr ? *clk : wall));
}

// Vault's 403 for a request whose token was refused: "permission denied" without a token; with an
// unknown, revoked or expired one also "invalid token", which Vault Agent and Proxy take as their cue
// to authenticate again (a token that only lacks a policy gets "permission denied" alone).
namespace {
reply token_refused(const request& req) {
  if (req.token.empty()) return reply::fail(403, "permission denied");
  return reply::fail(403, "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n");
}
}  // namespace

reply service::authorize(const router::match& m, request& req) const {
  if (m.r != nullptr) router_.resolve_operation(m, req);
  if (req.caller->is_root()) {
    req.sudo = true;
    return reply::empty();
  }
  const reply denied = reply::fail(403, multierror_text("permission denied"));
  if (policies_ == nullptr) return denied;
  auto acl = policies_->acl_for(req.caller->policies);
  if (!acl) return reply::fail(acl.err());
  auth::acl_operation op = auth::acl_operation::read;
  switch (req.op) {
    case operation::read:
    case operation::head: op = auth::acl_operation::read; break;
    case operation::list: op = auth::acl_operation::list; break;
    case operation::create: op = auth::acl_operation::create; break;
    case operation::update: op = auth::acl_operation::update; break;
    case operation::remove: op = auth::acl_operation::remove; break;
    case operation::patch: op = auth::acl_operation::patch; break;
  }
  const auto d = (*acl)->check(op, req.path);
  if (!d.allowed) return denied;
  if (m.r != nullptr && m.r->sudo && !d.sudo) return denied;
  req.sudo = d.sudo;
  return reply::empty();
}

raw_response service::handle(const raw_request& raw) const {
  const handle_timer handling;  // vault_core_handle_request
  parsed p = parse_request(raw);
  if (!p.req) return render(p.failure, nullptr, "");
  request& req = *p.req;

  const router::match m = router_.find(req.path);
  const std::string mount_type = m.mount ? m.mount->type : "";
  const bool open = m.r != nullptr && m.r->unauthenticated;
  const bool sealed_ok = m.r != nullptr && m.r->available_sealed;

  if (!sealed_ok) {
    const seal_snapshot s = node_.status();
    if (!s.initialized || s.sealed) return render(reply::fail(503, "Vault is sealed"), &req, mount_type);
  }
  if (!open) {
    req.caller = authn_.authenticate(req.token);
    if (!req.caller) return render(token_refused(req), &req, mount_type);
    if (reply a = authorize(m, req); a.k == reply::kind::error) return render(a, &req, mount_type);
  }
  if (!m.mount) {
    return render(reply::fail(404, "no handler for route \"" + req.path + "\". route entry not found."), &req, "");
  }
  if (m.r == nullptr) return render(reply::fail(404, multierror_text("unsupported path")), &req, mount_type);
  return render(measured_route(req, *m.mount, cluster_, [&] { return router_.invoke(m, req); }), &req, mount_type);
}

}  // namespace credbroker::api
