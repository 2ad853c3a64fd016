#pragma once
// audit_failure_source: what the audit broker counts for Vault's two audit metrics. The audit
// component implements it; watch_audit_failures() renders it at every scrape as
//   vault_audit_log_request_failure   requests no enabled audit device could record (refused: 500)
//   vault_audit_log_response_failure  responses no enabled audit device could record
// With no source (no audit component wired) both are rendered as 0, so alerts on them exist from
// the first scrape.
// Thread: audit_failures() is called from the scraping thread, concurrently with requests.
#include <cstdint>

#include "broker/telemetry/registry.hpp"

namespace credbroker::telemetry {

struct audit_failure_counts {
  std::uint64_t request_failure = 0;
  std::uint64_t response_failure = 0;
};

class audit_failure_source {
 public:
  virtual ~audit_failure_source() = default;
  virtual audit_failure_counts audit_failures() const = 0;
};

// `source` (may be null) must outlive the returned registrations.
[[nodiscard]] std::vector<registration> watch_audit_failures(registry& r, const audit_failure_source* source);

}  // namespace credbroker::telemetry
