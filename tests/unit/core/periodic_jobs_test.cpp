#include <gtest/gtest.h>

#include <atomic>

#include "broker/core/periodic_jobs.hpp"
#include "support/manual_time.hpp"

using namespace credbroker;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

TEST(periodic_jobs, run_every_period_after_the_last_run_on_the_executor) {
  fake_clock clk;
  test::manual_time t(clk);
  std::atomic<int> tidy{0}, reconcile{0};
  std::atomic<bool> on_executor{true};
  periodic_jobs jobs(t.sched, t.exec, clk);
  jobs.add("token-tidy", std::chrono::minutes(1), [&] {
    if (!t.exec.running_in_this_thread()) on_executor = false;
    ++tidy;
  });
  jobs.add("reconcile", seconds(5), [&] { ++reconcile; });
  clk.advance(seconds(4));
  t.run_due();
  EXPECT_EQ(reconcile.load(), 0);  // the first run is one period after add()
  clk.advance(seconds(1));
  t.run_due();
  EXPECT_EQ(reconcile.load(), 1);
  // Twelve periods pass at once (the broker was busy or sealed): one run, not twelve.
  clk.advance(seconds(60));
  t.run_due();
  EXPECT_EQ(reconcile.load(), 2);
  EXPECT_EQ(tidy.load(), 1);
  // The next run is one period after that run, not on the old grid.
  clk.advance(milliseconds(4900));
  t.run_due();
  EXPECT_EQ(reconcile.load(), 2);
  clk.advance(milliseconds(100));
  t.run_due();
  EXPECT_EQ(reconcile.load(), 3);
  EXPECT_TRUE(on_executor.load());
}

TEST(periodic_jobs, a_run_cancelled_by_the_executors_stop_is_not_rescheduled) {
  fake_clock clk;
  test::manual_time t(clk);
  std::atomic<int> runs{0};
  {
    periodic_jobs jobs(t.sched, t.exec, clk);
    jobs.add("x", seconds(1), [&] { ++runs; });
    t.exec.stop();  // the shutdown order: the executor first, then its clients
    clk.advance(seconds(1));
    EXPECT_EQ(t.sched.advance(clk.now()), 1u);  // due, handed over, cancelled
    EXPECT_EQ(t.sched.size(), 0u);              // and not scheduled again
  }
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
