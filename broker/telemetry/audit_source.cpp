#include "broker/telemetry/audit_source.hpp"

#include "broker/telemetry/registry.hpp"

namespace credbroker::telemetry {
namespace {

struct instruments {
  counter& request_failure =
      global_registry()
          .counters("vault.audit.log_request_failure",
                    "Requests that no enabled audit device could record (each was refused with 500).")
          .get();
  counter& response_failure =
      global_registry()
          .counters("vault.audit.log_response_failure", "Responses that no enabled audit device could record.")
          .get();
};

instruments& m() {
  static instruments i;
  return i;
}

}  // namespace

void register_audit_failures() { (void)m(); }

void count_audit_request_failure() noexcept { m().request_failure.inc(); }

void count_audit_response_failure() noexcept { m().response_failure.inc(); }

}  // namespace credbroker::telemetry
