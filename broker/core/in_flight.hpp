#pragma once
// in_flight: counts the tasks a component has queued on or running in the blocking_executor, so its
// destructor can wait for the last one (tasks capture `this`). begin() before posting, end() as the
// task's last act, run or cancelled; wait_none() returns once the count is 0.
//
// Thread: safe concurrently. mu_ is a leaf lock.
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace credbroker {

class in_flight {
 public:
  void begin() {
    std::lock_guard lock(mu_);
    ++n_;
  }
  void end() {
    std::lock_guard lock(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  void wait_none() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t n_ = 0;
};

}  // namespace credbroker
