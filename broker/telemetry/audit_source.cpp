#include "broker/telemetry/audit_source.hpp"

namespace credbroker::telemetry {

std::vector<registration> watch_audit_failures(registry& r, const audit_failure_source* source) {
  std::vector<registration> out;
  out.push_back(r.on_collect(
      {"vault.audit.log_request_failure",
       "Requests that no enabled audit device could record (each was refused with 500).", metric_kind::counter},
      [source](std::vector<sample>& s) {
        s.push_back({{}, source ? static_cast<double>(source->audit_failures().request_failure) : 0.0});
      }));
  out.push_back(r.on_collect(
      {"vault.audit.log_response_failure", "Responses that no enabled audit device could record.",
       metric_kind::counter},
      [source](std::vector<sample>& s) {
        s.push_back({{}, source ? static_cast<double>(source->audit_failures().response_failure) : 0.0});
      }));
  return out;
}

}  // namespace credbroker::telemetry
