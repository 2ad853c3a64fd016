#pragma once
// The thread that closes a pool's expired idle sessions (session_pool::reap), sleeping until the
// next due time in between. One per pool that reaps (the PostgreSQL plugin's instance).
//
// Spec: start() runs the thread (once; again after stop()). The loop calls reap(now), which closes
// what is due and returns the next due time (max(): nothing idle), then sleeps until then or until
// wake_by(t) reports an earlier one (a session just went idle). A wake_by() that arrives while
// reap() runs is kept, so no due time is lost between reap() reading the pool and the sleep.
// stop() wakes the thread and joins it.
// Example: reap returns now + 5 min; wake_by(now + 1 min) -> the thread reaps again after 1 min.
//
// Thread: wake_by and stop from any thread; reap runs on the reaper's thread with no lock of the
// reaper held. mu_ (wakes_, stop_) is a leaf.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace credbroker::plugins::common {

class pool_reaper {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using reap_fn = std::function<time_point(time_point now)>;

  explicit pool_reaper(reap_fn reap) : reap_(std::move(reap)) {}
  ~pool_reaper() { stop(); }
  pool_reaper(const pool_reaper&) = delete;
  pool_reaper& operator=(const pool_reaper&) = delete;

  void start();
  void stop();
  // A session becomes due at `due`: the thread wakes by then.
  void wake_by(time_point due);

 private:
  void loop();

  reap_fn reap_;
  std::mutex mu_;
  std::condition_variable cv_;
  time_point wakes_ = time_point::max();
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace credbroker::plugins::common
