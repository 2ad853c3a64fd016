#pragma once
// scheduler_driver: runs the scheduler on the process's io_context. One steady_timer on a strand,
// armed for the scheduler's next due bucket (plan()), and at most `max_sleep` ahead so a jump of the
// wall clock is noticed within it; re-armed earlier when an earlier entry is scheduled (the
// scheduler's waker posts a wake-up to the strand). Each wake-up calls advance(clock.now()) — which
// hands due entries to the clients on this strand, where they must not block — then arms again.
//
//   start()        the first wake-up (posted): everything already overdue fires
//   stop()         no wake-up after it; the timer is cancelled. Safe from any thread, idempotent.
//                  Call it before the io_context's threads are asked to finish: an armed timer
//                  keeps io_context::run() from returning.
//   active()       (optional) checked at each wake-up: while false (sealed) nothing is advanced, and
//                  the driver looks again after max_sleep
//   armed_for()    when the timer is set to wake next (for tests and status); nullopt when not armed
//
// Thread: the wake-ups run on the strand; start/stop/armed_for are safe from any thread. The timer
// and the strand live in a state that pending handlers share, so the driver may be destroyed while
// the io_context still runs: its handlers then find it stopped.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "broker/core/clock.hpp"
#include "broker/core/scheduler.hpp"

namespace credbroker {

class scheduler_driver {
 public:
  scheduler_driver(boost::asio::io_context& io, scheduler& s, const clock& c, std::function<bool()> active = {},
                   std::chrono::milliseconds max_sleep = std::chrono::seconds(1));
  scheduler_driver(const scheduler_driver&) = delete;
  scheduler_driver& operator=(const scheduler_driver&) = delete;
  ~scheduler_driver();

  void start();
  void stop();
  std::optional<time_point> armed_for() const;

 private:
  struct state : std::enable_shared_from_this<state> {
    state(boost::asio::io_context& io, scheduler& s, const clock& c, std::function<bool()> a,
          std::chrono::milliseconds m);
    void wake();  // on the strand
    scheduler& sched;
    const clock& clk;
    std::function<bool()> active;
    std::chrono::milliseconds max_sleep;
    boost::asio::strand<boost::asio::io_context::executor_type> strand;
    boost::asio::steady_timer timer;  // used on the strand only
    std::atomic<bool> stopped{false};
    std::atomic<time_point::rep> armed_for{0};  // 0: not armed
  };
  std::shared_ptr<state> s_;
};

}  // namespace credbroker
