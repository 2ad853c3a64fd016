#pragma once
// rotation_scheduler: the one queue of password rotations — static roles and scheduled root
// rotations of every mount — ordered by due time on the hierarchical timer wheel (1 s ticks, never
// early), like lease expiry. The queue itself is not stored: each job's due time lives in its record
// (the static role, the connection config), and the engines schedule their jobs again when a mount
// is loaded, so a rotation that fell due while the broker was down runs at once.
//
//   schedule("database/|static|app-db", t, job)   replaces an earlier entry with the same key
//   run_due()                                      runs every job due at the clock's now, in due order
//
// Jobs run on the scheduler's thread, one at a time, outside its lock; a job usually schedules its
// next run (or its retry) itself. Thread: all methods are safe concurrently.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/core/clock.hpp"
#include "leases/timer_wheel.hpp"

namespace credbroker::engine {

class rotation_scheduler {
 public:
  explicit rotation_scheduler(const clock& c);
  ~rotation_scheduler();

  void schedule(const std::string& key, time_point due, std::function<void()> job);
  void cancel(const std::string& key);
  void cancel_prefix(const std::string& prefix);  // a mount unloaded or disabled
  std::optional<time_point> due(const std::string& key) const;
  std::size_t size() const;

  // Runs every job due now; returns how many ran.
  std::size_t run_due();
  // A driver thread that sleeps until the next due time (at most 1 s) and runs what is due while
  // active() (unsealed). stop() joins it; the destructor stops too.
  void start(std::function<bool()> active);
  void stop();

 private:
  struct entry {
    leases::timer_wheel::handle timer;
    std::uint32_t slot = 0;
    time_point due;
    std::function<void()> job;
  };
  static std::uint64_t tick_of(time_point t);  // ceil to the second: never early
  void unschedule_locked(const std::string& key);

  const clock& clock_;
  mutable std::mutex mu_;
  leases::timer_wheel wheel_;
  std::unordered_map<std::string, entry> entries_;
  std::vector<std::string> slots_;  // wheel payload -> key
  std::vector<std::uint32_t> free_slots_;

  std::condition_variable cv_;
  bool stop_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace credbroker::engine
