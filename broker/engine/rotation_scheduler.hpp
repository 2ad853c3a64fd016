#pragma once
// rotation_scheduler: the one queue of password rotations — static roles and scheduled root
// rotations of every mount — as a client of the shared scheduler (broker/core/scheduler.hpp: 100 ms
// ticks, never early), like lease expiry. The queue itself is not stored: each job's due time lives
// in its record (the static role, the connection config), and the engines schedule their jobs again
// when a mount is loaded, so a rotation that fell due while the broker was down runs at once.
//
//   schedule("database/|static|app-db", t, job, "database/|pg")   replaces an earlier entry with that key
//   cancel_prefix("database/|")                                   a mount unloaded or disabled
//
// A due job runs on the blocking executor under the key "rotation|<serial>" with cap 1: jobs with one
// serial — the connection they talk to, so a root rotation and the static rotations of its accounts —
// run one at a time, in due order; jobs of other connections run beside them, and a hung database
// holds only its own connection's rotation slot. Without a serial, jobs share one (one at a time).
// A job usually schedules its next run (or its retry) itself. Jobs that fall due before start() wait
// for it: start-up settles the rotation WALs first.
//
// Thread: all methods are safe concurrently. mu_ (entries_, slots_) is taken in the scheduler's
// dispatch and around this client's schedule calls (scheduler.hpp's lock order); jobs run outside it.
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/core/blocking_executor.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/in_flight.hpp"
#include "broker/core/scheduler.hpp"

namespace credbroker::engine {

class rotation_scheduler {
 public:
  rotation_scheduler(scheduler& s, blocking_executor& e);
  rotation_scheduler(const rotation_scheduler&) = delete;
  rotation_scheduler& operator=(const rotation_scheduler&) = delete;
  // Leaves the scheduler and waits for its jobs on the executor.
  ~rotation_scheduler();

  void schedule(const std::string& key, time_point due, std::function<void()> job, std::string serial = {});
  void cancel(const std::string& key);
  void cancel_prefix(const std::string& prefix);  // a mount unloaded or disabled
  std::optional<time_point> due(const std::string& key) const;
  std::size_t size() const;
  // Due jobs run from now on (those that fell due before, at once). Idempotent.
  void start();
  // Due jobs wait again until the next start() (HA: the node stepped down; the next active settles
  // the rotation WALs before it starts). Jobs already on the executor finish. Idempotent.
  void stop();

 private:
  struct entry {
    scheduler::timer timer;
    std::uint32_t slot = 0;
    time_point due;
    std::function<void()> job;
    std::string serial;
  };
  struct due_job {
    time_point due;
    std::function<void()> job;
    std::string serial;
  };
  void on_due(std::span<const scheduler::fired> fired);
  void unschedule_locked(const std::string& key);
  void run(std::vector<due_job> jobs);

  scheduler& sched_;
  blocking_executor& exec_;
  scheduler::client client_ = 0;
  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> entries_;  // guarded by mu_
  std::vector<std::string> slots_;                  // guarded by mu_: entry payload -> key
  std::vector<std::uint32_t> free_slots_;           // guarded by mu_
  bool started_ = false;                            // guarded by mu_
  std::vector<due_job> waiting_;                    // guarded by mu_: fell due before start()
  in_flight tasks_;
};

}  // namespace credbroker::engine
