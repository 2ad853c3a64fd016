#pragma once
// scheduler: the one timer of the process. A hierarchical wheel (timer_wheel.hpp) shared by every
// component with timed work — lease expiry and revocation retries, rotations, periodic jobs — with no
// clock of its own: time comes in through advance(now), so the core is tested with a fake clock and
// runs in production under scheduler_driver (one steady_timer on a strand).
//
// SPEC
//   add_client(name, on_due) -> client       a component registers once; on_due receives its entries
//   schedule(client, slot, due) -> timer      O(1). `slot` is the client's own 32-bit number for what
//                                             is due (an index into its own table), so an entry costs
//                                             the wheel's 32-byte node and no key
//   reschedule(client, slot, old, due)        O(1): cancels `old` if it still pends and schedules anew;
//                                             returns the new timer even when `old` already fired
//   cancel(timer) -> bool                     O(1); false once fired or cancelled
//   advance(now) -> count                     hands every entry due at or before `now` to its client's
//                                             on_due (one batch per client per call) and never one due
//                                             later; returns how many
//   next_wakeup() -> time                     <= the earliest due tick of any entry, so a timer armed
//                                             for it is never late; nullopt when nothing pends
//   plan(latest) -> time                      for the driver: min(next_wakeup, latest), remembered as
//                                             the planned wake-up; a schedule() due before it calls the
//                                             waker (set_waker) once and lowers the plan to it
// Times are wall-clock time_points (leases expire at stored wall times). The wheel counts ticks of
// `resolution` (default 100 ms): a due rounds up to its tick and `now` rounds down, so an entry never
// fires before its due time, and at most one tick after it once advance() is called then.
//
// WORKED EXAMPLE (resolution 100 ms; t in seconds)
//   leases = add_client("leases", f). schedule(leases, 7, t=10.05) -> tick 101 (10.1 s).
//   advance(10.09): tick 100, nothing fires. advance(10.10): f({{slot 7, timer, due 10.1}}).
//   Had the client rescheduled slot 7 between the wheel's collection and the call of f, it would hold
//   the new timer reschedule() returned: the fired entry carries the old one, and the client drops it
//   as stale (fired.timer != its table's). Clients compare timers for exactly this reason.
//
// DISPATCH
//   on_due(std::span<const fired>) runs on the thread that called advance() (the driver's strand),
//   outside the wheel lock. It must not block: it takes its own lock briefly and hands blocking work
//   to the blocking_executor. It may call schedule, reschedule and cancel; not add/remove_client.
//   Entries of a removed client fire into nothing.
//
// Thread: all methods are safe concurrently. Lock order (each is held briefly, never across I/O):
//   dispatch_mu_ (one advance at a time, held while on_due runs; add/remove_client)
//     -> a client's own lock (taken in on_due, and around its own schedule calls)
//       -> wheel_mu_ (the wheel, the plan and the waker; the waker runs under it: it may only post)
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/clock.hpp"
#include "broker/core/timer_wheel.hpp"

namespace credbroker {

class scheduler {
 public:
  using timer = timer_wheel::handle;
  using client = std::uint32_t;
  struct fired {
    std::uint32_t slot = 0;
    timer entry;     // what schedule()/reschedule() returned for it
    time_point due;  // its due tick (at or after the due time it was given)
  };
  using on_due = std::function<void(std::span<const fired>)>;

  explicit scheduler(time_point start, std::chrono::milliseconds resolution = std::chrono::milliseconds(100));
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  client add_client(std::string name, on_due f);
  void remove_client(client c);

  timer schedule(client c, std::uint32_t slot, time_point due);
  timer reschedule(client c, std::uint32_t slot, timer old, time_point due);
  bool cancel(timer t);

  std::size_t advance(time_point now);
  std::optional<time_point> next_wakeup() const;
  time_point plan(time_point latest);
  // Called under the wheel lock with the new, earlier due time; it may only post (null: none).
  void set_waker(std::function<void(time_point)> w);

  std::size_t size() const;  // entries pending, of every client
  std::chrono::milliseconds resolution() const { return resolution_; }

 private:
  std::uint64_t due_tick(time_point t) const;  // ceil: never early
  std::uint64_t now_tick(time_point t) const;  // floor
  time_point time_of(std::uint64_t tick) const;
  static std::uint64_t payload(client c, std::uint32_t slot) { return std::uint64_t{c} << 32 | slot; }
  timer schedule_locked(client c, std::uint32_t slot, time_point due);

  const std::chrono::milliseconds resolution_;
  const time_point::rep ticks_per_;  // resolution in time_point's units

  std::mutex dispatch_mu_;
  struct client_entry {
    client id;
    std::string name;
    on_due f;
  };
  std::vector<client_entry> clients_;  // guarded by dispatch_mu_
  client next_client_ = 1;             // guarded by dispatch_mu_; never reused
  // Guarded by dispatch_mu_: one advance's due entries, one group per client in the wheel's firing
  // order (nondecreasing due tick); reused between advances.
  std::vector<std::pair<client, std::vector<fired>>> groups_;

  mutable std::mutex wheel_mu_;
  timer_wheel wheel_;                    // guarded by wheel_mu_
  std::uint64_t planned_ = 0;            // guarded by wheel_mu_: the driver's next look (0: no driver)
  std::function<void(time_point)> waker_;  // guarded by wheel_mu_
};

}  // namespace credbroker
