#pragma once
// The three kinds of series: counter, gauge, histogram. Each is one series (one set of label
// values); families (family.hpp) give a series per label set, the registry (registry.hpp) names them.
//
//   counter    monotonic, inc()/add(n): one relaxed add to this thread's shard (shard.hpp)
//   gauge      set(v) / add(d) on one atomic double: for values set rarely or computed at scrape time
//   histogram  observe(v): fixed upper bounds (Prometheus "le": v counts in the first bucket whose
//              bound is >= v, or in +Inf); per shard the bucket counts, sum, sum of squares, min and
//              max (Vault's JSON shape wants the last four). observe() costs one binary search over
//              the bounds and five relaxed atomic operations on this thread's shard.
//              A `scale` multiplies every value first: Vault's timers are observed in seconds and
//              kept in milliseconds (scale 1000).
// Example: histogram h({0.1, 1}); h.observe(0.05); h.observe(0.1); h.observe(5)
//   -> read(): counts {2, 0, 1} (<=0.1, <=1, +Inf), count 3, sum 5.15, min 0.05, max 5.
//
// Thread: every method is safe concurrently; reads see each cell at some recent point (a read
// racing writes may count an observation in `count` before its `sum`: Prometheus clients do the same).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "broker/telemetry/shard.hpp"

namespace credbroker::telemetry {

class counter {
 public:
  counter();
  void inc() noexcept { add(1); }
  void add(std::uint64_t n) noexcept { cells_[this_shard()].v.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept;

 private:
  struct alignas(cache_line) cell {
    std::atomic<std::uint64_t> v{0};
  };
  std::unique_ptr<cell[]> cells_;
};

class gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0.0};
};

class histogram {
 public:
  // bounds: strictly increasing, finite (checked by the registry); +Inf is implied.
  explicit histogram(std::shared_ptr<const std::vector<double>> bounds, double scale = 1.0);
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative; the last is +Inf
    std::uint64_t count = 0;
    double sum = 0;
    double sumsq = 0;
    double min = 0;  // 0 when empty
    double max = 0;
  };
  snapshot read() const;
  const std::vector<double>& bounds() const noexcept { return *bounds_; }
  double scale() const noexcept { return scale_; }

 private:
  struct alignas(cache_line) stats {
    double sum = 0;
    double sumsq = 0;
    double min;
    double max;
  };
  struct alignas(cache_line) line {
    std::uint64_t c[cache_line / sizeof(std::uint64_t)] = {};
  };
  std::shared_ptr<const std::vector<double>> bounds_;
  double scale_;
  std::size_t lines_per_shard_;
  std::unique_ptr<stats[]> stats_;
  std::unique_ptr<line[]> counts_;
};

// Seconds since construction, on the steady clock (a vDSO read, ~20 ns).
class stopwatch {
 public:
  stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace credbroker::telemetry
