#pragma once
// exposition: what one collection found, in a form both renderings read (prometheus_text.hpp,
// vault_json.hpp). Families are sorted by key; a family with labels_in_name is already split into
// one family per series, named by its values; a family with no series is left out.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "broker/telemetry/family.hpp"

namespace credbroker::telemetry {

struct exposed_point {
  std::vector<std::pair<std::string, std::string>> labels;  // in the family's label order
  double value = 0;                                         // counter, gauge
  histogram::snapshot hist;                                 // histogram, summary (cumulative since start)
  std::vector<std::pair<double, double>> quantiles;         // summary: (0.5, v), (0.9, v), (0.99, v)
};

struct exposed_family {
  std::string key;  // Vault's dotted name, hostname inserted where the options asked for it
  std::string help;
  metric_kind kind = metric_kind::counter;
  std::vector<double> bounds;  // histogram, summary
  std::vector<exposed_point> points;
};

struct exposition {
  std::vector<exposed_family> families;
  double uptime_seconds = 0;  // since the registry was made (Vault's JSON "Rate" is per second)
};

}  // namespace credbroker::telemetry
