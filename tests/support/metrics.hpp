#pragma once
// Reading one series of the process's telemetry (telemetry::global_registry()) in a test: tests
// compare a value before and after the action they measure (other tests report into it too).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/telemetry/registry.hpp"

namespace credbroker::test {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

// The point of family `key` whose labels include every given pair; nullopt if none.
inline std::optional<telemetry::exposed_point> metric_point(const std::string& key, const metric_labels& labels = {}) {
  const auto e = telemetry::global_registry().collect({});
  for (const auto& f : e.families) {
    if (f.key != key) continue;
    for (const auto& p : f.points) {
      bool all = true;
      for (const auto& want : labels) {
        bool found = false;
        for (const auto& have : p.labels) found = found || have == want;
        all = all && found;
      }
      if (all) return p;
    }
  }
  return std::nullopt;
}

// A counter's or gauge's value (0 when the series does not exist yet).
inline double metric_value(const std::string& key, const metric_labels& labels = {}) {
  const auto p = metric_point(key, labels);
  return p ? p->value : 0.0;
}

// How many observations a histogram or summary holds (0 when the series does not exist yet).
inline std::uint64_t metric_count(const std::string& key, const metric_labels& labels = {}) {
  const auto p = metric_point(key, labels);
  return p ? p->hist.count : 0;
}

}  // namespace credbroker::test
