// counter, gauge and histogram (broker/telemetry/metric.hpp): exact totals under concurrent writers,
// Prometheus's "le" bucket rule, and the statistics Vault's JSON shape needs.
#include "broker/telemetry/metric.hpp"

#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace credbroker::telemetry {
namespace {

TEST(Counter, SumsEveryShardExactlyUnderConcurrentWriters) {
  counter c;
  constexpr int threads = 8, per_thread = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&c] {
      for (int i = 0; i < per_thread; ++i) c.inc();
    });
  }
  c.add(5);
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), std::uint64_t{threads} * per_thread + 5);
}

TEST(Gauge, SetAndAdd) {
  gauge g;
  EXPECT_EQ(g.value(), 0.0);
  g.set(3.5);
  g.add(-1);
  EXPECT_EQ(g.value(), 2.5);
}

TEST(Histogram, BucketsFollowTheLeRule) {
  auto bounds = std::make_shared<const std::vector<double>>(std::vector<double>{0.1, 1});
  struct row {
    double v;
    std::vector<std::uint64_t> counts;
  };
  const std::vector<row> rows = {
      {0.05, {1, 0, 0}},  // below the first bound
      {0.1, {1, 0, 0}},   // equal to a bound: that bucket (le = "less or equal")
      {0.1000001, {0, 1, 0}},
      {1, {0, 1, 0}},
      {5, {0, 0, 1}},     // above every bound: +Inf
      {-3, {1, 0, 0}},    // negative values count in the first bucket
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.v);
    histogram h(bounds);
    h.observe(r.v);
    EXPECT_EQ(h.read().counts, r.counts);
  }
}

TEST(Histogram, KeepsCountSumMinMaxAndSquares) {
  histogram h(std::make_shared<const std::vector<double>>(std::vector<double>{0.1, 1}));
  const auto empty = h.read();
  EXPECT_EQ(empty.count, 0u);
  EXPECT_EQ(empty.min, 0.0);
  EXPECT_EQ(empty.max, 0.0);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(5);
  h.observe(std::nan(""));  // ignored
  const auto s = h.read();
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{2, 0, 1}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 5.15);
  EXPECT_DOUBLE_EQ(s.sumsq, 0.0025 + 0.01 + 25);
  EXPECT_EQ(s.min, 0.05);
  EXPECT_EQ(s.max, 5);
}

TEST(Histogram, ScaleMultipliesBeforeBucketing) {
  histogram h(std::make_shared<const std::vector<double>>(std::vector<double>{10, 100}), 1000);
  h.observe(0.05);  // 50 ms
  const auto s = h.read();
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{0, 1, 0}));
  EXPECT_DOUBLE_EQ(s.sum, 50);
}

TEST(Histogram, ConcurrentObservationsAllCount) {
  histogram h(std::make_shared<const std::vector<double>>(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&h, t] {
      for (int i = 0; i < 50000; ++i) h.observe(t + 1);
    });
  }
  for (auto& t : ts) t.join();
  const auto s = h.read();
  EXPECT_EQ(s.count, 200000u);
  EXPECT_DOUBLE_EQ(s.sum, 50000.0 * (1 + 2 + 3 + 4));
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 4);
  for (int b = 0; b < 4; ++b) EXPECT_EQ(s.counts[static_cast<std::size_t>(b)], 50000u);
}

}  // namespace
}  // namespace credbroker::telemetry
