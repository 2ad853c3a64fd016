#pragma once
// bucket_quantile: the q-quantile of observations counted per bucket, as Prometheus's
// histogram_quantile() estimates it: find the bucket holding rank q*N, interpolate linearly between
// its lower and upper bound. The first bucket starts at `lo` (the smallest observation), the +Inf
// bucket ends at `hi` (the largest), and the result is clamped to [lo, hi]. NaN when N is 0.
// Example: bounds {1, 2, 4}, counts {0, 4, 4, 0}, lo 1.2, hi 4: q=0.5 -> rank 4 -> the end of bucket
// (1, 2] -> 2; q=0.75 -> rank 6 -> half-way through (2, 4] -> 3.
#include <cstdint>
#include <vector>

namespace credbroker::telemetry {

double bucket_quantile(double q, const std::vector<double>& bounds, const std::vector<std::uint64_t>& counts, double lo,
                       double hi);

}  // namespace credbroker::telemetry
