#include "broker/node/leadership_loop.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace credbroker::node {

leadership_loop::leadership_loop(ha::postgresql_leadership& leadership, hooks h)
    : leadership_(leadership), hooks_(std::move(h)) {}

leadership_loop::~leadership_loop() { stop(); }

void leadership_loop::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ha-leadership");
    run();
  });
}

void leadership_loop::contend(bool yes) {
  {
    std::lock_guard lock(loop_mu_);
    contend_ = yes;
    woken_ = true;
  }
  changed_.notify_all();
}

void leadership_loop::wake() {
  {
    std::lock_guard lock(loop_mu_);
    woken_ = true;
  }
  changed_.notify_all();
}

void leadership_loop::stop() {
  {
    std::lock_guard lock(loop_mu_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void leadership_loop::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(loop_mu_);
  changed_.wait_for(lock, d, [this] { return stop_ || woken_; });
}

void leadership_loop::run() {
  auto last_error = std::chrono::steady_clock::time_point{};
  for (;;) {
    bool contend = false;
    {
      std::unique_lock lock(loop_mu_);
      if (stop_) break;
      contend = contend_;
      woken_ = false;
    }
    hooks_.settle();
    if (!contend) {
      if (leadership_.is_leader()) leadership_.release();
      hooks_.settle();
      std::unique_lock lock(loop_mu_);
      changed_.wait(lock, [this] { return stop_ || woken_; });
      continue;
    }
    const auto began = std::chrono::steady_clock::now();
    const auto s = leadership_.step();
    hooks_.settle();
    if (!s) {
      // Logged at most every 30 s: a database that is down for long is one line, not one per second.
      if (std::chrono::steady_clock::now() - last_error > std::chrono::seconds(30)) {
        spdlog::warn("HA: cannot contend for the leadership: {}", s.err().message);
        last_error = std::chrono::steady_clock::now();
      }
      pause(std::chrono::seconds(1));
      continue;
    }
    if (leadership_.is_leader()) {
      pause(leadership_.step_interval());
      continue;
    }
    auto seen = leadership_.leader();
    hooks_.leader_seen(seen ? *seen : std::nullopt);
    // A standby round waited in the lock; one that came back at once (the lock session was just
    // replaced) must not spin.
    if (std::chrono::steady_clock::now() - began < std::chrono::milliseconds(50)) pause(std::chrono::milliseconds(100));
  }
  if (leadership_.is_leader()) leadership_.release();
  hooks_.settle();
}

}  // namespace credbroker::node
