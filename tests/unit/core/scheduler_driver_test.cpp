// The Asio driver on a fake clock: io.poll() runs only what is ready, so nothing here waits for the
// real clock. A timer armed for a wait of zero (the fake clock already at its time) is ready at once.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "broker/core/scheduler_driver.hpp"

using namespace credbroker;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const time_point t0{seconds{1'800'000'000}};

struct driven : ::testing::Test {
  fake_clock clk{t0};
  scheduler sched{t0};
  boost::asio::io_context io;
  std::vector<std::uint32_t> fired;
  scheduler::client c = sched.add_client("c", [this](std::span<const scheduler::fired> due) {
    for (const auto& f : due) fired.push_back(f.slot);
  });
};

TEST_F(driven, arms_for_the_next_due_bucket_and_earlier_when_an_earlier_entry_comes) {
  scheduler_driver d(io, sched, clk, {}, seconds(30));
  sched.schedule(c, 1, t0 + seconds{10});
  d.start();
  io.poll();
  EXPECT_EQ(d.armed_for(), t0 + seconds{10});
  sched.schedule(c, 2, t0 + seconds{20});  // later: the plan stands, nothing is posted
  EXPECT_EQ(io.poll(), 0u);
  EXPECT_EQ(d.armed_for(), t0 + seconds{10});
  sched.schedule(c, 3, t0 + milliseconds{2500});  // earlier: re-armed for it
  EXPECT_GE(io.poll(), 1u);
  EXPECT_EQ(d.armed_for(), t0 + milliseconds{2500});
  EXPECT_TRUE(fired.empty());
  // With nothing pending the driver still looks every max_sleep (a wall clock that jumped).
  scheduler empty(t0);
  boost::asio::io_context io2;
  scheduler_driver idle(io2, empty, clk, {}, seconds(30));
  idle.start();
  io2.poll();
  EXPECT_EQ(idle.armed_for(), t0 + seconds{30});
}

TEST_F(driven, a_wake_up_fires_what_is_due_never_what_is_not) {
  scheduler_driver d(io, sched, clk, {}, seconds(30));
  sched.schedule(c, 1, t0 + seconds{5});
  sched.schedule(c, 2, t0 + seconds{6});
  clk.advance(seconds{5});  // the first one's time has come before the driver starts
  d.start();
  io.poll();
  EXPECT_EQ(fired, std::vector<std::uint32_t>{1});
  EXPECT_EQ(d.armed_for(), t0 + seconds{6});
  // An entry due now is handed over by the wake-up its scheduling posts.
  sched.schedule(c, 3, clk.now());
  io.poll();
  EXPECT_EQ(fired, (std::vector<std::uint32_t>{1, 3}));
}

TEST_F(driven, inactive_means_nothing_is_advanced_and_stop_means_no_more_wake_ups) {
  bool active = false;
  scheduler_driver d(io, sched, clk, [&] { return active; }, seconds(30));
  sched.schedule(c, 1, t0);
  d.start();
  io.poll();
  EXPECT_TRUE(fired.empty());  // sealed: due entries wait
  EXPECT_EQ(d.armed_for(), t0 + seconds{30});
  sched.schedule(c, 2, t0);  // no busy loop while inactive: nothing posted
  EXPECT_EQ(io.poll(), 0u);
  active = true;
  d.stop();
  EXPECT_FALSE(d.armed_for().has_value());
  sched.schedule(c, 3, t0 - seconds{1});  // a stopped driver is never woken
  io.poll();
  EXPECT_TRUE(fired.empty());
  // The io_context has no more work from the driver: run() returns.
  io.restart();
  io.run();
  EXPECT_TRUE(fired.empty());
}

}  // namespace
