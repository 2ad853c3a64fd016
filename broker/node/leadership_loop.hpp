#pragma once
// leadership_loop: the thread "ha-leadership" of a node in HA mode. It contends for the leadership
// and keeps it, calling postgresql_leadership::step() (ha/postgresql_leadership.hpp) in a loop:
//
//   contending, standby   step() waits up to acquire_wait in pg_advisory_lock; then at once again
//                         (a standby is always waiting in the lock: a SIGKILLed active is replaced
//                         as soon as PostgreSQL frees it); after each round leader_seen(leader())
//   contending, active    step() heartbeats; again after step_interval() (ttl/6), or at once when
//                         woken (the lost signal)
//   not contending        (sealed) releases a held leadership, then waits to be told
//   step() failed         (database unreachable) again after 1 s
// Before and after every round, settle() runs: the node finishes there a step-down that the lost
// signal asked for (on_lost may fire on a storage commit thread, which must not tear components
// down). on_acquired runs inside step(), on this thread.
//
// Thread: contend(), wake() and stop() from any thread; the hooks run on the loop's thread.
// loop_mu_ guards the flags below; it is a leaf (never held while calling step() or a hook).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "broker/ha/postgresql_leadership.hpp"

namespace credbroker::node {

class leadership_loop {
 public:
  struct hooks {
    std::function<void()> settle;
    std::function<void(const std::optional<ha::leader_info>&)> leader_seen;  // empty: nobody ever led, or unreadable
  };
  leadership_loop(ha::postgresql_leadership& leadership, hooks h);
  ~leadership_loop();  // stop()
  leadership_loop(const leadership_loop&) = delete;
  leadership_loop& operator=(const leadership_loop&) = delete;

  void start();
  void contend(bool yes);
  void wake();
  // Releases a held leadership (a clean shutdown hands over at once) and joins. Idempotent.
  void stop();

 private:
  void run();
  // Waits up to `d`, or until woken, told to stop, or the contention changed.
  void pause(std::chrono::milliseconds d);

  ha::postgresql_leadership& leadership_;
  hooks hooks_;
  std::mutex loop_mu_;  // guards contend_, stop_, woken_
  std::condition_variable changed_;
  bool contend_ = false;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace credbroker::node
