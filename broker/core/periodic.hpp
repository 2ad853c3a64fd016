#pragma once
// periodic_task: runs f every `every` on its own thread until destroyed. The first run is one
// period after construction. Destruction wakes the thread and joins it (a run in progress finishes).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace credbroker {

class periodic_task {
 public:
  periodic_task(std::chrono::milliseconds every, std::function<void()> f)
      : every_(every), f_(std::move(f)), thread_([this] { loop(); }) {}
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;
  ~periodic_task() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every_, [this] { return stop_; })) {
      lock.unlock();
      f_();
      lock.lock();
    }
  }

  std::chrono::milliseconds every_;
  std::function<void()> f_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the other members exist
};

}  // namespace credbroker
