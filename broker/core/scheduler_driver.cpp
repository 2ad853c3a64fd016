#include "broker/core/scheduler_driver.hpp"

#include <algorithm>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

namespace credbroker {

scheduler_driver::state::state(boost::asio::io_context& io, scheduler& s, const clock& c, std::function<bool()> a,
                               std::chrono::milliseconds m)
    : sched(s),
      clk(c),
      active(std::move(a)),
      max_sleep(std::max(m, std::chrono::milliseconds(1))),
      strand(boost::asio::make_strand(io)),
      timer(strand) {}

scheduler_driver::scheduler_driver(boost::asio::io_context& io, scheduler& s, const clock& c,
                                   std::function<bool()> active, std::chrono::milliseconds max_sleep)
    : s_(std::make_shared<state>(io, s, c, std::move(active), max_sleep)) {}

scheduler_driver::~scheduler_driver() { stop(); }

void scheduler_driver::start() {
  std::weak_ptr<state> weak = s_;
  s_->sched.set_waker([weak, strand = s_->strand](time_point) {
    // Under the scheduler's wheel lock: only post.
    boost::asio::post(strand, [weak] {
      if (auto st = weak.lock()) st->wake();
    });
  });
  boost::asio::post(s_->strand, [st = s_] { st->wake(); });
}

void scheduler_driver::stop() {
  if (s_->stopped.exchange(true)) return;
  s_->sched.set_waker(nullptr);  // no wake-up is posted after this; those posted find `stopped`
  s_->armed_for.store(0);
  boost::asio::post(s_->strand, [st = s_] { st->timer.cancel(); });
}

void scheduler_driver::state::wake() {
  if (stopped.load()) {
    timer.cancel();
    return;
  }
  const time_point now = clk.now();
  const time_point latest = now + max_sleep;
  time_point at = latest;
  if (!active || active()) {
    sched.advance(now);
    at = sched.plan(latest);
  } else {
    (void)sched.plan(now);  // inactive: nothing scheduled meanwhile pokes it before `latest`
  }
  armed_for.store(at.time_since_epoch().count());
  const auto wait = std::max(at - clk.now(), time_point::duration::zero());
  timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  timer.async_wait(boost::asio::bind_executor(strand, [weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto st = weak.lock()) st->wake();
  }));
}

std::optional<time_point> scheduler_driver::armed_for() const {
  const auto v = s_->armed_for.load();
  if (v == 0) return std::nullopt;
  return time_point{time_point::duration{v}};
}

}  // namespace credbroker
