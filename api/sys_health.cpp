// sys/health — unauthenticated, GET and HEAD, not enveloped (vault-api.md §4.1).
#include <chrono>

#include "api/sys_routes.hpp"

namespace credbroker::api {
namespace {

reply health(const node_status& node, const request& req, const field_data& fd) {
  const seal_snapshot s = node.status();
  auto code = [&](const char* name, int dflt) { return static_cast<int>(fd.get_int(name).value_or(dflt)); };
  int status;
  if (!s.initialized) {
    status = code("uninitcode", 501);
  } else if (s.sealed) {
    status = code("sealedcode", 503);
  } else if (s.standby && !fd.get_bool("standbyok").value_or(false)) {
    status = code("standbycode", 429);
  } else {
    status = code("activecode", 200);
  }
  if (status < 100 || status > 999) return reply::fail(400, "status codes must be between 100 and 999");
  if (req.op == operation::head) return reply::raw_status(status);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json body = {
      {"initialized", s.initialized},
      {"sealed", s.sealed},
      {"standby", s.standby},
      {"performance_standby", false},
      {"replication_performance_mode", "disabled"},
      {"replication_dr_mode", "disabled"},
      {"server_time_utc", now},
      {"version", CREDBROKER_VERSION},
      {"enterprise", false},
      {"echo_duration_ms", 0},
      {"clock_skew_ms", 0},
      {"replication_primary_canary_age_ms", 0},
      {"removed_from_cluster", false},
  };
  if (s.initialized && !s.sealed) {
    body["cluster_name"] = s.cluster_name;
    body["cluster_id"] = s.cluster_id;
  }
  return reply::raw(status, std::move(body));
}

}  // namespace

route sys_health_route(const node_status& node) {
  route r;
  r.pattern = "health";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  for (const char* name : {"activecode", "standbycode", "drsecondarycode", "haunhealthycode",
                           "performancestandbycode", "sealedcode", "uninitcode", "removedcode"}) {
    r.fields.push_back({name, field_type::integer});
  }
  r.fields.push_back({"standbyok", field_type::boolean});
  r.fields.push_back({"perfstandbyok", field_type::boolean});
  auto h = [&node](request& req, const field_data& fd) { return health(node, req, fd); };
  r.operations[operation::read] = h;
  r.operations[operation::head] = h;
  return r;
}

}  // namespace credbroker::api
