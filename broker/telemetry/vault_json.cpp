#include "broker/telemetry/vault_json.hpp"

#include <cmath>
#include <ctime>

namespace credbroker::telemetry {
namespace {

nlohmann::json labels_of(const exposed_point& p) {
  nlohmann::json l = nlohmann::json::object();
  for (const auto& [k, v] : p.labels) l[k] = v;
  return l;
}

// JSON has no NaN or Inf: such a value is written as 0 (Vault's encoder would fail on it instead).
double finite(double v) { return std::isfinite(v) ? v : 0.0; }

nlohmann::json sampled(const std::string& name, const exposed_point& p, double uptime, std::uint64_t count, double sum,
                       double sumsq, double min, double max) {
  const double n = static_cast<double>(count);
  const double mean = count > 0 ? sum / n : 0.0;
  double stddev = 0;
  if (count > 1) {
    const double var = (n * sumsq - sum * sum) / (n * (n - 1));
    stddev = var > 0 ? std::sqrt(var) : 0.0;
  }
  return {{"Name", name},
          {"Count", count},
          {"Rate", finite(uptime > 0 ? sum / uptime : 0.0)},
          {"Sum", finite(sum)},
          {"Min", finite(min)},
          {"Max", finite(max)},
          {"Mean", finite(mean)},
          {"Stddev", finite(stddev)},
          {"Labels", labels_of(p)}};
}

}  // namespace

std::string go_utc_timestamp(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::round<std::chrono::seconds>(t.time_since_epoch()).count();
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

nlohmann::json render_vault_json(const exposition& e, std::chrono::system_clock::time_point now) {
  nlohmann::json gauges = nlohmann::json::array(), counters = nlohmann::json::array(),
                 samples = nlohmann::json::array();
  for (const auto& f : e.families) {
    for (const auto& p : f.points) {
      switch (f.kind) {
        case metric_kind::gauge:
          gauges.push_back({{"Name", f.key}, {"Value", finite(p.value)}, {"Labels", labels_of(p)}});
          break;
        case metric_kind::counter: {
          const auto total = static_cast<std::uint64_t>(std::max(0.0, finite(p.value)));
          const double one = total > 0 ? 1.0 : 0.0;
          counters.push_back(sampled(f.key, p, e.uptime_seconds, total, static_cast<double>(total),
                                     static_cast<double>(total), one, one));
          break;
        }
        case metric_kind::histogram:
        case metric_kind::summary:
          samples.push_back(sampled(f.key, p, e.uptime_seconds, p.hist.count, p.hist.sum, p.hist.sumsq, p.hist.min,
                                    p.hist.max));
          break;
      }
    }
  }
  return {{"Timestamp", go_utc_timestamp(now)},
          {"Gauges", std::move(gauges)},
          {"Points", nlohmann::json::array()},
          {"Counters", std::move(counters)},
          {"Samples", std::move(samples)}};
}

}  // namespace credbroker::telemetry
