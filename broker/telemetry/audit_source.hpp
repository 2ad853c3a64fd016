#pragma once
// Vault's two audit metrics, as counters of telemetry::global_registry():
//   vault_audit_log_request_failure   requests no enabled audit device could record (refused)
//   vault_audit_log_response_failure  responses no enabled audit device could record
// The audit broker calls the hooks, once per request or response that no device recorded:
//   if (!any_device_logged) telemetry::count_audit_request_failure();
// register_audit_failures() creates both at 0 (the server calls it at start), so alerts on them
// exist from the first scrape, before any audit device is enabled.
// Names end without _total as Vault's do; the Prometheus text types them "untyped"
// (prometheus_text.hpp), which PromQL's rate() and increase() read as counters.
// Thread: all safe concurrently; a hook is one lock-free increment and never throws.

namespace credbroker::telemetry {

void register_audit_failures();
void count_audit_request_failure() noexcept;
void count_audit_response_failure() noexcept;

}  // namespace credbroker::telemetry
