#include "broker/core/blocking_executor.hpp"

#include <algorithm>

namespace credbroker {
namespace {
thread_local const blocking_executor* current_executor = nullptr;
}  // namespace

blocking_executor::blocking_executor(options o)
    : threads_n_(std::max(1u, o.threads)), default_cap_(std::max(1u, o.default_cap)) {
  threads_.reserve(threads_n_);
  for (unsigned i = 0; i < threads_n_; ++i) threads_.emplace_back([this] { worker(); });
}

blocking_executor::~blocking_executor() { stop(); }

bool blocking_executor::running_in_this_thread() const { return current_executor == this; }

blocking_executor::lane& blocking_executor::lane_locked(std::string_view key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end()) {
    auto l = std::make_unique<lane>();
    l->key = std::string(key);
    l->cap = default_cap_;
    it = lanes_.emplace(l->key, std::move(l)).first;
  }
  return *it->second;
}

void blocking_executor::make_runnable_locked(lane& l) {
  if (l.runnable || l.queue.empty() || l.running >= l.cap) return;
  l.runnable = true;
  runnable_.push_back(&l);
  work_cv_.notify_one();
}

void blocking_executor::post(std::string_view key, task t) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      lane& l = lane_locked(key);
      l.queue.push_back(std::move(t));
      ++queued_;
      make_runnable_locked(l);
      return;
    }
  }
  t(false);  // stopped: cancelled at once, outside the lock
}

void blocking_executor::set_cap(const std::string& key, unsigned cap) {
  std::lock_guard lock(mu_);
  lane& l = lane_locked(key);
  l.cap = std::max(1u, cap);
  l.fixed_cap = true;
  make_runnable_locked(l);
}

void blocking_executor::worker() {
  current_executor = this;
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !runnable_.empty(); });
    if (runnable_.empty()) return;  // stopping: stop() took every queued task
    lane* l = runnable_.front();
    runnable_.pop_front();
    l->runnable = false;
    task t = std::move(l->queue.front());
    l->queue.pop_front();
    --queued_;
    ++l->running;
    ++running_;
    make_runnable_locked(*l);  // its next task may start on another thread (below the cap)
    lock.unlock();
    t(true);
    t = task();  // the task's captures go outside the lock
    lock.lock();
    --l->running;
    --running_;
    if (!l->queue.empty()) {
      make_runnable_locked(*l);
    } else if (l->running == 0 && !l->fixed_cap) {
      lanes_.erase(lanes_.find(std::string_view(l->key)));
    }
    if (queued_ == 0 && running_ == 0) idle_cv_.notify_all();
  }
}

void blocking_executor::wait_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return queued_ == 0 && running_ == 0; });
}

void blocking_executor::stop() {
  std::vector<task> cancelled;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    runnable_.clear();
    for (auto& [_, l] : lanes_) {
      l->runnable = false;
      for (auto& t : l->queue) cancelled.push_back(std::move(t));
      l->queue.clear();
    }
    queued_ = 0;
  }
  work_cv_.notify_all();
  for (auto& t : cancelled) t(false);
  cancelled.clear();
  for (auto& th : threads_) {
    if (th.joinable()) th.join();
  }
  std::lock_guard lock(mu_);
  if (running_ == 0) idle_cv_.notify_all();
}

blocking_executor::key_stats blocking_executor::stats(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = lanes_.find(key);
  if (it == lanes_.end()) return key_stats{0, 0, default_cap_};
  return key_stats{it->second->queue.size(), it->second->running, it->second->cap};
}

}  // namespace credbroker
