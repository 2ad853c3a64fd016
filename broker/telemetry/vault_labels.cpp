#include "broker/telemetry/vault_labels.hpp"

namespace credbroker::telemetry {

std::string ttl_bucket(std::chrono::seconds ttl) {
  using namespace std::chrono_literals;
  static const std::pair<std::chrono::seconds, const char*> bounds[] = {
      {1min, "1m"}, {10min, "10m"}, {20min, "20m"}, {1h, "1h"}, {2h, "2h"},
      {24h, "1d"}, {48h, "2d"}, {168h, "7d"}, {720h, "30d"}};
  for (const auto& [limit, label] : bounds) {
    if (ttl <= limit) return label;
  }
  return "+Inf";
}

}  // namespace credbroker::telemetry
