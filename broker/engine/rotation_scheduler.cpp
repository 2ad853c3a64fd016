#include "broker/engine/rotation_scheduler.hpp"

#include <algorithm>

namespace credbroker::engine {

rotation_scheduler::rotation_scheduler(const clock& c)
    : clock_(c),
      wheel_(static_cast<std::uint64_t>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::seconds>(c.now().time_since_epoch()).count()))) {}

rotation_scheduler::~rotation_scheduler() { stop(); }

std::uint64_t rotation_scheduler::tick_of(time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  if (ms <= 0) return 0;
  return static_cast<std::uint64_t>((ms + 999) / 1000);
}

void rotation_scheduler::unschedule_locked(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  wheel_.cancel(it->second.timer);
  slots_[it->second.slot].clear();
  free_slots_.push_back(it->second.slot);
  entries_.erase(it);
}

void rotation_scheduler::schedule(const std::string& key, time_point due, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    unschedule_locked(key);
    std::uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
      slots_[slot] = key;
    } else {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back(key);
    }
    const auto tick = std::max(tick_of(due), wheel_.now());
    entries_.emplace(key, entry{wheel_.schedule(tick, slot), slot, due, std::move(job)});
    poked_ = true;
  }
  cv_.notify_one();
}

void rotation_scheduler::cancel(const std::string& key) {
  std::lock_guard lock(mu_);
  unschedule_locked(key);
}

void rotation_scheduler::cancel_prefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [k, _] : entries_) {
    if (k.compare(0, prefix.size(), prefix) == 0) keys.push_back(k);
  }
  for (const auto& k : keys) unschedule_locked(k);
}

std::optional<time_point> rotation_scheduler::due(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.due;
}

std::size_t rotation_scheduler::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::size_t rotation_scheduler::run_due() {
  std::vector<std::pair<time_point, std::function<void()>>> jobs;
  {
    std::lock_guard lock(mu_);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    std::vector<std::uint32_t> fired;
    wheel_.advance(static_cast<std::uint64_t>(std::max<std::int64_t>(0, secs)),
                   [&](std::uint64_t slot, std::uint64_t) { fired.push_back(static_cast<std::uint32_t>(slot)); });
    for (auto slot : fired) {
      auto it = entries_.find(slots_[slot]);
      if (it == entries_.end()) continue;
      jobs.emplace_back(it->second.due, std::move(it->second.job));
      slots_[slot].clear();
      free_slots_.push_back(slot);
      entries_.erase(it);
    }
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [_, job] : jobs) job();
  return jobs.size();
}

void rotation_scheduler::start(std::function<bool()> active) {
  std::lock_guard guard(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, active = std::move(active)] {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        auto sleep = std::chrono::milliseconds(1000);
        if (auto next = wheel_.next_wakeup()) {
          const time_point at{std::chrono::seconds(static_cast<std::int64_t>(*next))};
          sleep = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(at - clock_.now()),
                             std::chrono::milliseconds(0), sleep);
        }
        if (!poked_) cv_.wait_for(lock, sleep, [this] { return stop_ || poked_; });
        if (stop_) return;
        poked_ = false;
      }
      if (active()) run_due();
    }
  });
}

void rotation_scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace credbroker::engine
