#include "broker/telemetry/metric.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace credbroker::telemetry {
namespace {

constexpr std::size_t words_per_line = cache_line / sizeof(std::uint64_t);

template <class T>
std::atomic_ref<T> cell(T& x) {
  return std::atomic_ref<T>(x);
}

void store_min(double& slot, double v) {
  auto a = cell(slot);
  double cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void store_max(double& slot, double v) {
  auto a = cell(slot);
  double cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

counter::counter() : cells_(new cell[shard_count()]) {}

std::uint64_t counter::value() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < shard_count(); ++i) total += cells_[i].v.load(std::memory_order_relaxed);
  return total;
}

histogram::histogram(std::shared_ptr<const std::vector<double>> bounds, double scale)
    : bounds_(std::move(bounds)),
      scale_(scale),
      lines_per_shard_((bounds_->size() + 1 + words_per_line - 1) / words_per_line),
      stats_(new stats[shard_count()]),
      counts_(new line[shard_count() * lines_per_shard_]) {
  for (std::size_t i = 0; i < shard_count(); ++i) {
    stats_[i].min = std::numeric_limits<double>::infinity();
    stats_[i].max = -std::numeric_limits<double>::infinity();
  }
}

void histogram::observe(double v) noexcept {
  const double x = v * scale_;
  if (std::isnan(x)) return;
  const auto& b = *bounds_;
  const std::size_t bucket = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), x) - b.begin());
  const std::size_t shard = this_shard();
  line* lines = &counts_[shard * lines_per_shard_];
  cell(lines[bucket / words_per_line].c[bucket % words_per_line]).fetch_add(1, std::memory_order_relaxed);
  stats& s = stats_[shard];
  cell(s.sum).fetch_add(x, std::memory_order_relaxed);
  cell(s.sumsq).fetch_add(x * x, std::memory_order_relaxed);
  store_min(s.min, x);
  store_max(s.max, x);
}

histogram::snapshot histogram::read() const {
  snapshot out;
  const std::size_t buckets = bounds_->size() + 1;
  out.counts.assign(buckets, 0);
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (std::size_t shard = 0; shard < shard_count(); ++shard) {
    line* lines = &counts_[shard * lines_per_shard_];
    for (std::size_t i = 0; i < buckets; ++i) {
      const auto n = cell(lines[i / words_per_line].c[i % words_per_line]).load(std::memory_order_relaxed);
      out.counts[i] += n;
      out.count += n;
    }
    stats& s = stats_[shard];
    out.sum += cell(s.sum).load(std::memory_order_relaxed);
    out.sumsq += cell(s.sumsq).load(std::memory_order_relaxed);
    lo = std::min(lo, cell(s.min).load(std::memory_order_relaxed));
    hi = std::max(hi, cell(s.max).load(std::memory_order_relaxed));
  }
  if (out.count > 0 && std::isfinite(lo)) {
    out.min = lo;
    out.max = hi;
  }
  return out;
}

}  // namespace credbroker::telemetry
