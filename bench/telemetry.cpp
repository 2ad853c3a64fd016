// What one increment of a metric costs on the hot path, against the naive alternatives in the same
// run: one std::atomic shared by every thread (its cache line bounces between cores) and a
// std::mutex around a plain counter. Google Benchmark; run with threads 1 and 2 (the machine's cores):
//   build/bench/bench_telemetry --benchmark_min_time=0.5
// Numbers go to docs/PERFORMANCE.md ("Telemetry").
#include <atomic>
#include <mutex>

#include <benchmark/benchmark.h>

#include "broker/telemetry/registry.hpp"

namespace {

using namespace credbroker::telemetry;

registry& bench_registry() {
  static registry* r = new registry();
  return *r;
}

void BM_SharedAtomic(benchmark::State& state) {
  static std::atomic<std::uint64_t> shared{0};
  for (auto _ : state) shared.fetch_add(1, std::memory_order_relaxed);
}

void BM_MutexCounter(benchmark::State& state) {
  static std::mutex mu;
  static std::uint64_t n = 0;
  for (auto _ : state) {
    std::lock_guard lock(mu);
    ++n;
  }
  benchmark::DoNotOptimize(n);
}

void BM_CounterInc(benchmark::State& state) {
  static counter& c = bench_registry().counters("bench.plain_total", "h").get();
  for (auto _ : state) c.inc();
}

void BM_LabelledCounterInc(benchmark::State& state) {
  static auto& f = bench_registry().counters("bench.labelled_total", "h", {"mount", "operation"});
  f.with({"database/", "read"});
  for (auto _ : state) f.with({"database/", "read"}).inc();
}

void BM_HistogramObserve(benchmark::State& state) {
  static histogram& h = bench_registry().histograms("bench.seconds", "h", {}, {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                                0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}).get();
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v < 20 ? v * 1.5 : 0.0001;
  }
}

void BM_SummaryObserve(benchmark::State& state) {
  static histogram& h = bench_registry().summaries("bench.timer", "h").get();
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v < 20 ? v * 1.5 : 0.0001;
  }
}

void BM_StopwatchAndObserve(benchmark::State& state) {
  static histogram& h = bench_registry().summaries("bench.timed", "h").get();
  for (auto _ : state) {
    const stopwatch sw;
    h.observe(sw.seconds());
  }
}

BENCHMARK(BM_SharedAtomic)->Threads(1)->Threads(2);
BENCHMARK(BM_MutexCounter)->Threads(1)->Threads(2);
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_LabelledCounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);
BENCHMARK(BM_SummaryObserve)->Threads(1)->Threads(2);
BENCHMARK(BM_StopwatchAndObserve)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
