#include "broker/audit/audit_broker.hpp"

#include <spdlog/spdlog.h>

#include "broker/telemetry/audit_source.hpp"

namespace credbroker::audit {
namespace {

const char* what(bool response) { return response ? "response" : "request"; }

// Formats this event's line for d; nullopt (logged) if formatting failed.
std::optional<std::string> line_for(const device& d, const log_input& in, bool response, time_point now) {
  try {
    return response ? d.response_line(in, now) : d.request_line(in, now);
  } catch (const std::exception& e) {
    spdlog::error("audit device {} could not format the {} of {}: {}", d.entry().path, what(response), in.request.path,
                  e.what());
    return std::nullopt;
  }
}

void note(const device& d, bool recorded, bool response, const std::string& reason) {
  if (!d.note_outcome(recorded)) return;
  if (recorded) {
    spdlog::info("audit device {} records entries again", d.entry().path);
  } else {
    spdlog::error("audit device {} failed to record a {}: {}; it is retried on every entry", d.entry().path,
                  what(response), reason);
  }
}

}  // namespace

void audit_broker::set_devices(device_set devices) {
  auto next = std::make_shared<const device_set>(std::move(devices));
  std::lock_guard lock(devices_mu_);
  enabled_.store(!next->empty(), std::memory_order_release);
  devices_ = std::move(next);
}

std::shared_ptr<const audit_broker::device_set> audit_broker::devices() const {
  std::lock_guard lock(devices_mu_);
  return devices_;
}

bool audit_broker::fan_out(const log_input& in, bool response) {
  const auto set = devices();
  if (set->empty()) return true;
  const time_point now = clock_.now();
  bool recorded = false;
  std::vector<std::pair<const device*, std::shared_ptr<pending_write>>> queued;
  for (const auto& d : *set) {
    auto line = line_for(*d, in, response, now);
    if (!line) continue;
    if (d->sink().direct()) {
      const status s = d->sink().write(*line);
      note(*d, s.ok(), response, s.ok() ? "" : s.err().message);
      recorded = recorded || s.ok();
    } else {
      queued.emplace_back(d.get(), d->sink().submit(std::move(*line)));
    }
  }
  if (!recorded) {
    for (auto& [d, p] : queued) {
      const bool ok = p->wait();
      note(*d, ok, response, "not sent within its write_timeout");
      if (ok) {
        recorded = true;
        break;
      }
    }
  }
  return recorded;
}

status audit_broker::log_request(const log_input& in) {
  if (fan_out(in, false)) return ok_v;
  request_failures_.fetch_add(1, std::memory_order_relaxed);
  telemetry::count_audit_request_failure();  // vault_audit_log_request_failure
  return make_error(errc::internal, "no audit device recorded the request");
}

status audit_broker::log_response(const log_input& in) {
  if (fan_out(in, true)) return ok_v;
  response_failures_.fetch_add(1, std::memory_order_relaxed);
  telemetry::count_audit_response_failure();  // vault_audit_log_response_failure
  return make_error(errc::internal, "no audit device recorded the response");
}

failure_counters audit_broker::failures() const {
  return {request_failures_.load(std::memory_order_relaxed), response_failures_.load(std::memory_order_relaxed)};
}

}  // namespace credbroker::audit
