#include "broker/telemetry/quantile.hpp"

#include <algorithm>
#include <cmath>

namespace credbroker::telemetry {

double bucket_quantile(double q, const std::vector<double>& bounds, const std::vector<std::uint64_t>& counts, double lo,
                       double hi) {
  std::uint64_t total = 0;
  for (const auto c : counts) total += c;
  if (total == 0) return std::nan("");
  const double rank = q * static_cast<double>(total);
  double below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double n = static_cast<double>(counts[i]);
    if (n > 0 && below + n >= rank) {
      const double start = i == 0 ? lo : std::max(lo, bounds[i - 1]);
      const double end = i < bounds.size() ? std::min(hi, bounds[i]) : hi;
      const double v = start + (end - start) * ((rank - below) / n);
      return std::clamp(v, lo, hi);
    }
    below += n;
  }
  return hi;
}

}  // namespace credbroker::telemetry
