#pragma once
// manual_time: the scheduler and the blocking executor of a unit test, driven by hand with a fake
// clock instead of the Asio driver. run_due() is what the driver does at a wake-up — advance to the
// clock's now — and then waits until the work it handed out (revocations, rotations, their retries'
// storage writes) has finished, so a test can look at the results at once; it returns how many
// entries fell due.
#include <chrono>

#include "broker/core/blocking_executor.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/scheduler.hpp"

namespace credbroker::test {

struct manual_time {
  explicit manual_time(const clock& c, blocking_executor::options o = {8, 4}) : clk(c), sched(c.now()), exec(o) {}

  std::size_t run_due() {
    const std::size_t n = sched.advance(clk.now());
    exec.wait_idle();
    return n;
  }

  const clock& clk;
  scheduler sched;
  blocking_executor exec;
};

}  // namespace credbroker::test
