#pragma once
// periodic_jobs: work that repeats — reconciliation every 5 s, the token tidy every minute — as
// entries of the shared scheduler, run on the blocking executor under the key "periodic|<name>"
// (cap 1). The next run is scheduled `every` after a run finishes, so a slow run is never doubled up;
// the first runs `every` after add(). A run cancelled by the executor's stop() is not rescheduled.
//
//   jobs.add("token-tidy", std::chrono::minutes(1), [&] { tokens.tidy(); });
//
// Thread: safe concurrently; the jobs run on executor threads. mu_ (the jobs' timers) is taken in
// the scheduler's dispatch and around this client's schedule calls (scheduler.hpp's lock order).
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "broker/core/blocking_executor.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/in_flight.hpp"
#include "broker/core/scheduler.hpp"

namespace credbroker {

class periodic_jobs {
 public:
  periodic_jobs(scheduler& s, blocking_executor& e, const clock& c);
  periodic_jobs(const periodic_jobs&) = delete;
  periodic_jobs& operator=(const periodic_jobs&) = delete;
  // Takes its entries off the scheduler and waits for a run in progress.
  ~periodic_jobs();

  void add(std::string name, std::chrono::milliseconds every, std::function<void()> job);

 private:
  struct job {
    std::string key;  // "periodic|<name>"
    std::uint32_t slot;
    std::chrono::milliseconds every;
    std::function<void()> fn;
    scheduler::timer entry;  // guarded by mu_
  };
  void on_due(std::span<const scheduler::fired> due);
  void run(job& j);

  scheduler& sched_;
  blocking_executor& exec_;
  const clock& clock_;
  scheduler::client client_;
  std::mutex mu_;
  std::vector<std::unique_ptr<job>> jobs_;  // guarded by mu_; slot = index, never removed
  in_flight tasks_;
};

}  // namespace credbroker
