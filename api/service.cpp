#include "api/service.hpp"

#include <openssl/hmac.h>

#include "api/audit_hook.hpp"
#include "api/request_metrics.hpp"
#include "api/response_wrapping.hpp"
#include "api/sys_audit.hpp"
#include "api/sys_metrics.hpp"
#include "api/sys_routes.hpp"
#include "api/wire.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::api {

service::service(const node_status& node, auth::authenticator& authn, seal_services* seal,
                 leases::lease_manager* leases, const clock* clk)
    : service(services{node, authn, seal, leases, clk}) {}

service::service(const services& svc)
    : node_(svc.node), authn_(svc.authn), policies_(svc.policies), wrapping_(svc.wrapping) {
  const auto key = random_bytes(32);
  log_key_ = secret(std::string(key.begin(), key.end()));
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
    for (auto& r : sys_generate_root_routes(*seal)) sys->routes.push_back(std::move(r));
    for (auto& r : sys_rekey_routes(*seal)) sys->routes.push_back(std::move(r));
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
    svc.auth_methods->observe(&auth_routes_);
  }
  if (svc.secrets != nullptr) {
    for (auto& r : sys_mount_routes(*svc.secrets, svc.auth_methods)) sys->routes.push_back(std::move(r));
    svc.secrets->observe(&secret_routes_);
  }
  for (auto& r : sys_internal_ui_routes(svc.secrets, svc.auth_methods, authn_, policies_)) sys->routes.push_back(std::move(r));
  if (svc.passwords != nullptr) {
    for (auto& r : sys_password_policy_routes(*svc.passwords)) sys->routes.push_back(std::move(r));
  }
  if (svc.audit_devices != nullptr) {
    for (auto& r : sys_audit_routes(*svc.audit_devices)) sys->routes.push_back(std::move(r));
  }
  audit_ = svc.audit;
  if (svc.metrics != nullptr) sys->routes.push_back(sys_metrics_route(*svc.metrics));
  if (svc.metrics != nullptr) cluster_ = svc.metrics->settings.cluster_name;
  if (wrapping_ != nullptr) {
    for (auto& r : sys_wrapping_routes(*wrapping_, authn_, policies_)) sys->routes.push_back(std::move(r));
  }
  router_.add_mount(std::move(sys));
  static const system_clock wall;
  if (svc.tokens != nullptr) router_.add_mount(token_mount(*svc.tokens, clk != nullptr ? *clk : wall));
}

// Vault's 403 for a request whose token was refused: "permission denied" without a token; with an
// unknown, revoked or expired one also "invalid token", which Vault Agent and Proxy take as their cue
// to authenticate again (a token that only lacks a policy gets "permission denied" alone).
namespace {
reply token_refused(const request& req, bool address_refused) {
  if (req.token.empty()) return reply::fail(403, "permission denied");
  // A valid token bound to CIDR blocks the client is outside: Vault's CheckToken answers
  // ErrPermissionDenied, without "invalid token" (the token still works from its addresses).
  if (address_refused) return reply::fail(403, multierror_text("permission denied"));
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
  const auto d = (*acl)->check(op, req.path, req.body);  // the data: body, or a read's query
  if (!d.allowed) return denied;
  if (m.r != nullptr && m.r->sudo && !d.sudo) return denied;
  if (!within_wrapping_bounds(d, req.wrap_ttl)) return denied;
  req.sudo = d.sudo;
  return reply::empty();
}

service::head_result service::examine(const raw_request& raw) const {
  head_result h;
  h.p = parse_head(raw);
  if (!h.p.req) {
    h.refusal = render(h.p.failure, nullptr, "");
    return h;
  }
  request& req = *h.p.req;
  h.m = router_.find(req.path);
  h.mount_type = h.m.mount ? h.m.mount->type : "";
  h.open = h.m.r != nullptr && h.m.r->unauthenticated;
  const bool sealed_ok = h.m.r != nullptr && h.m.r->available_sealed;
  if (!sealed_ok) {
    const seal_snapshot s = node_.status();
    if (!s.initialized || s.sealed) h.refusal = render(reply::fail(503, "Vault is sealed"), &req, h.mount_type);
  }
  // Vault's core refuses to write to a path ending in '/' (a folder, not a key), before any token check.
  const bool write = req.op == operation::update || req.op == operation::create || req.op == operation::patch;
  if (!h.refusal && write && !req.path.empty() && req.path.back() == '/') {
    h.refusal = render(reply::fail(400, "cannot write to a path ending in '/'"), &req, h.mount_type);
  }
  return h;
}

head_decision service::inspect(const raw_request& head) const {
  head_result h = examine(head);
  head_decision d;
  d.open = h.open;
  if (h.refusal) {
    d.refuse = std::move(h.refusal);
  } else if (!h.open) {
    if (h.p.req->token.empty()) {
      d.refuse = refuse_token(h, head, false);
    } else {
      d.needs_token = true;
    }
  }
  return d;
}

std::optional<raw_response> service::authenticate(raw_request& head) const {
  head_result h = examine(head);
  if (h.refusal) return std::move(h.refusal);
  if (h.open) return std::nullopt;
  auto presented = authn_.check_from(h.p.req->token, h.p.req->client_address);  // spent in handle()
  head.caller = std::move(presented.caller);
  if (!head.caller) return refuse_token(h, head, presented.address_refused);
  return std::nullopt;
}

raw_response service::refuse_token(head_result& h, const raw_request& raw, bool address_refused) const {
  request& req = *h.p.req;
  req.request_id = random_uuid();
  audit_trail trail(audit_, raw, req, h.m);
  return render(trail.refused(token_refused(req, address_refused)), &req, h.mount_type);
}

raw_response service::handle(const raw_request& raw) const {
  const handle_timer handling;  // vault_core_handle_request
  head_result h = examine(raw);
  if (h.refusal) return std::move(*h.refusal);
  request& req = *h.p.req;
  const router::match& m = h.m;
  const std::string& mount_type = h.mount_type;
  if (!h.open) {
    bool address_refused = false;
    if (raw.caller) {
      req.caller = raw.caller;
    } else {
      auto presented = authn_.check_from(req.token, req.client_address);
      req.caller = std::move(presented.caller);
      address_refused = presented.address_refused;
    }
    if (!req.caller) return refuse_token(h, raw, address_refused);
  }
  if (auto bad = parse_body(raw, h.p, req)) return render(*bad, &req, mount_type);
  req.request_id = random_uuid();
  const bool sealed_ok = m.r != nullptr && m.r->available_sealed;
  audit_trail trail(sealed_ok ? nullptr : audit_, raw, req, m);
  if (!h.open) {
    if (reply a = authorize(m, req); a.k == reply::kind::error) return render(trail.refused(a), &req, mount_type);
    // Allowed: now the use is spent (a refused request spends none, as Vault's UseToken after the ACL).
    if (req.caller->limited_uses && !authn_.spend_use(req.token)) return refuse_token(h, raw, false);
  }
  if (!trail.record_request()) return render(reply::fail(500, multierror_text("internal error")), &req, mount_type);
  if (!m.mount) {
    const std::string text = "no handler for route \"" + req.path + "\". route entry not found.";
    return render(trail.record_response(reply::fail(404, text)), &req, "");
  }
  if (m.r == nullptr) {
    return render(trail.record_response(reply::fail(404, multierror_text("unsupported path"))), &req, mount_type);
  }
  // Wrapped before the response is audited: the audit entry holds wrap_info, as Vault's does.
  return render(trail.record_response(apply_wrapping(
                    wrapping_, measured_route(req, *m.mount, cluster_, [&] { return router_.invoke(m, req); }), req, mount_type)),
                &req, mount_type);
}

std::string service::hmac(std::string_view value) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), log_key_.reveal().data(), static_cast<int>(log_key_.size()),
           reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac, &len) == nullptr) {
    std::abort();  // cannot happen: SHA-256 is always there
  }
  return "hmac-sha256:" + hex_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string service::loggable_path(std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  const auto hash = [this](std::string_view v) { return hmac(v); };
  if (path.substr(0, 4) != "/v1/") return loggable_unrouted(path, hash);
  const auto decoded = percent_decode(path.substr(4), false);
  if (!decoded) return "/v1/" + hmac(path.substr(4));
  return "/v1/" + router_.loggable_path(*decoded, hash);
}

}  // namespace credbroker::api
