#include "plugins/common/pool_reaper.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace credbroker::plugins::common {
namespace {

using namespace std::chrono_literals;
using time_point = pool_reaper::time_point;

// Counts the reaper's calls; reap returns what the test sets as the next due time.
struct recorder {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  time_point next = time_point::max();

  time_point reap(time_point) {
    std::lock_guard lock(mu);
    ++calls;
    cv.notify_all();
    return next;
  }
  // Waits (on the condition variable, not a sleep) until the reaper has run `n` times.
  bool reached(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return calls >= n; });
  }
  int count() {
    std::lock_guard lock(mu);
    return calls;
  }
};

TEST(pool_reaper, reaps_at_start_and_when_an_earlier_due_time_is_reported) {
  recorder r;
  pool_reaper reaper([&](time_point now) { return r.reap(now); });
  reaper.start();
  ASSERT_TRUE(r.reached(1));
  reaper.wake_by(std::chrono::steady_clock::now() - 1s);  // due already
  ASSERT_TRUE(r.reached(2));
  reaper.stop();
  EXPECT_EQ(r.count(), 2);
}

TEST(pool_reaper, reaps_again_while_something_is_due_and_restarts_after_stop) {
  recorder r;
  r.next = std::chrono::steady_clock::now() - 1s;  // the first reap leaves something due at once
  pool_reaper reaper([&](time_point now) { return r.reap(now); });
  reaper.start();
  ASSERT_TRUE(r.reached(2));
  {
    std::lock_guard lock(r.mu);
    r.next = time_point::max();
  }
  ASSERT_TRUE(r.reached(3));  // the pass that read the new plan: nothing due
  reaper.stop();
  const int before = r.count();
  // Stopped: wake_by has no thread to wake, and start() runs it again.
  reaper.wake_by(std::chrono::steady_clock::now() - 1s);
  EXPECT_EQ(r.count(), before);
  reaper.start();
  ASSERT_TRUE(r.reached(before + 1));
  reaper.stop();
}

}  // namespace
}  // namespace credbroker::plugins::common
