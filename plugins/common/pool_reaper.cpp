#include "plugins/common/pool_reaper.hpp"

namespace credbroker::plugins::common {

void pool_reaper::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void pool_reaper::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void pool_reaper::wake_by(time_point due) {
  {
    std::lock_guard lock(mu_);
    if (!(due < wakes_)) return;
    wakes_ = due;
  }
  cv_.notify_one();
}

void pool_reaper::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wakes_ = time_point::max();  // from here on, wake_by() records every due time reported
    lock.unlock();
    const auto next = reap_(std::chrono::steady_clock::now());
    lock.lock();
    if (next < wakes_) wakes_ = next;
    const auto until = wakes_;
    if (until == time_point::max()) {
      cv_.wait(lock, [&] { return stop_ || wakes_ != until; });
    } else {
      cv_.wait_until(lock, until, [&] { return stop_ || wakes_ < until; });
    }
  }
}

}  // namespace credbroker::plugins::common
