#pragma once
// request_metrics: what the API measures of every request, into telemetry::global_registry().
//
//   count_http_request(status, seconds)   one line where the HTTP server logs a request:
//       credbroker_http_requests_total{code}            requests answered, by status
//       credbroker_http_request_duration_seconds{code}  first byte read -> response written
//   handle_timer                           for the life of service::handle():
//       vault_core_handle_request                       Vault's summary, in ms
//   measured_route(req, mount, cluster, invoke)        around the route's handler:
//       vault_route_<operation>_<mount>                 Vault's per-mount summary, in ms (the mount's
//                                                       '/' written '-': vault_route_read_database_)
//       vault_token_creation{auth_method, mount_point, creation_ttl, token_type, namespace, cluster}
//                                                       a reply carrying a new token (login, token
//                                                       create; not a renewal)
//       vault_secret_lease_creation{secret_engine, mount_point, creation_ttl, namespace, cluster}
//                                                       a reply of a secrets engine carrying a lease
// Labels are Vault's (creation_ttl: telemetry::ttl_bucket; namespace is "root").
//
// Thread: all safe concurrently; each call is a few lock-free increments (telemetry/family.hpp).
#include <string>

#include "api/message.hpp"
#include "api/router.hpp"
#include "broker/telemetry/metric.hpp"

namespace credbroker::api {

void count_http_request(int status, double seconds) noexcept;

class handle_timer {
 public:
  handle_timer() = default;
  handle_timer(const handle_timer&) = delete;
  handle_timer& operator=(const handle_timer&) = delete;
  ~handle_timer();

 private:
  telemetry::stopwatch sw_;
};

// Records the route's time and what its reply created.
void record_route(const request& req, const mount_table_entry& mount, const std::string& cluster, const reply& r,
                  double seconds);

template <class Invoke>
reply measured_route(const request& req, const mount_table_entry& mount, const std::string& cluster, Invoke&& invoke) {
  const telemetry::stopwatch sw;
  reply r = invoke();
  record_route(req, mount, cluster, r, sw.seconds());
  return r;
}

}  // namespace credbroker::api
