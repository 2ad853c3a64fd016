#include "broker/engine/rotation_scheduler.hpp"

#include <algorithm>

namespace credbroker::engine {

rotation_scheduler::rotation_scheduler(scheduler& s, blocking_executor& e) : sched_(s), exec_(e) {
  client_ = sched_.add_client("rotations", [this](std::span<const scheduler::fired> fired) { on_due(fired); });
}

rotation_scheduler::~rotation_scheduler() {
  sched_.remove_client(client_);
  tasks_.wait_none();
  std::lock_guard lock(mu_);
  for (const auto& [_, e] : entries_) (void)sched_.cancel(e.timer);
}

void rotation_scheduler::unschedule_locked(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  (void)sched_.cancel(it->second.timer);
  slots_[it->second.slot].clear();
  free_slots_.push_back(it->second.slot);
  entries_.erase(it);
}

void rotation_scheduler::schedule(const std::string& key, time_point due, std::function<void()> job, std::string serial) {
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
  entries_.emplace(key, entry{sched_.schedule(client_, slot, due), slot, due, std::move(job), std::move(serial)});
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

void rotation_scheduler::on_due(std::span<const scheduler::fired> fired) {
  std::vector<due_job> jobs;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : fired) {
      if (f.slot >= slots_.size() || slots_[f.slot].empty()) continue;
      auto it = entries_.find(slots_[f.slot]);
      if (it == entries_.end() || it->second.timer != f.entry) continue;  // stale: replaced or cancelled
      jobs.push_back(due_job{it->second.due, std::move(it->second.job), std::move(it->second.serial)});
      slots_[f.slot].clear();
      free_slots_.push_back(f.slot);
      entries_.erase(it);
    }
    if (!started_) {
      for (auto& j : jobs) waiting_.push_back(std::move(j));
      return;
    }
  }
  run(std::move(jobs));
}

void rotation_scheduler::start() {
  std::vector<due_job> jobs;
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    jobs.swap(waiting_);
  }
  run(std::move(jobs));
}

void rotation_scheduler::stop() {
  std::lock_guard lock(mu_);
  started_ = false;
}

void rotation_scheduler::run(std::vector<due_job> jobs) {
  // In due order: the executor keeps it per serial key.
  std::stable_sort(jobs.begin(), jobs.end(), [](const due_job& a, const due_job& b) { return a.due < b.due; });
  for (auto& j : jobs) {
    const std::string key = "rotation|" + j.serial;
    exec_.set_cap(key, 1);
    tasks_.begin();
    exec_.post(key, blocking_executor::task([this, job = std::move(j.job)](bool run) {
      if (run) job();
      tasks_.end();
    }));
  }
}

}  // namespace credbroker::engine
