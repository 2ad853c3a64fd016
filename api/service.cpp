#include "api/service.hpp"

#include "api/sys_routes.hpp"
#include "api/wire.hpp"

namespace credbroker::api {

service::service(const node_status& node, const auth::authenticator& authn, seal_services* seal,
                 leases::lease_manager* leases, const clock* clk)
    : node_(node), authn_(authn) {
  auto sys = std::make_shared<mount_table_entry>();
  sys->path = "sys/";
  sys->type = "system";
  sys->routes.push_back(sys_health_route(node_));
  sys->routes.push_back(sys_seal_status_route(node_));
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
  router_.add_mount(std::move(sys));
}

raw_response service::handle(const raw_request& raw) const {
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
    if (!req.caller) return render(reply::fail(403, "permission denied"), &req, mount_type);
  }
  if (!m.mount) {
    return render(reply::fail(404, "no handler for route \"" + req.path + "\". route entry not found."), &req, "");
  }
  if (m.r == nullptr) return render(reply::fail(404, multierror_text("unsupported path")), &req, mount_type);
  return render(router_.invoke(m, req), &req, mount_type);
}

}  // namespace credbroker::api
