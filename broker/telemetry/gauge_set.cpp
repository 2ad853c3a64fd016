#include "broker/telemetry/gauge_set.hpp"

namespace credbroker::telemetry {

gauge_set::gauge_set(registry& r, family_def def)
    : reg_(r.on_collect(std::move(def), [this](std::vector<sample>& out) {
        std::lock_guard lock(mu_);
        out.insert(out.end(), current_.begin(), current_.end());
      })) {}

void gauge_set::replace(std::vector<sample> series) {
  std::lock_guard lock(mu_);
  current_ = std::move(series);
}

}  // namespace credbroker::telemetry
