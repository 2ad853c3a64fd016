#pragma once
// Time source seam. Components that schedule (leases, rotation) take a clock& so tests can use
// fake_clock; nothing else calls std::chrono::system_clock::now() directly.
// Thread: system_clock is stateless; fake_clock is safe to read from many threads while one
// test thread advances it.
#include <atomic>
#include <chrono>

namespace credbroker {

using time_point = std::chrono::system_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};

class fake_clock final : public clock {
 public:
  explicit fake_clock(time_point start = time_point{std::chrono::seconds{1'700'000'000}})
      : now_ns_(start.time_since_epoch().count()) {}
  time_point now() const override {
    return time_point{time_point::duration{now_ns_.load(std::memory_order_acquire)}};
  }
  void advance(std::chrono::nanoseconds d) {
    now_ns_.fetch_add(std::chrono::duration_cast<time_point::duration>(d).count(),
                      std::memory_order_acq_rel);
  }

 private:
  std::atomic<time_point::rep> now_ns_;
};

}  // namespace credbroker
