#include "broker/core/scheduler.hpp"

#include <algorithm>

namespace credbroker {

scheduler::scheduler(time_point start, std::chrono::milliseconds resolution)
    : resolution_(std::max(resolution, std::chrono::milliseconds(1))),
      ticks_per_(std::chrono::duration_cast<time_point::duration>(resolution_).count()),
      wheel_(now_tick(start)) {}

std::uint64_t scheduler::due_tick(time_point t) const {
  const auto d = t.time_since_epoch().count();
  if (d <= 0) return 0;
  return static_cast<std::uint64_t>(d / ticks_per_ + (d % ticks_per_ != 0 ? 1 : 0));
}

std::uint64_t scheduler::now_tick(time_point t) const {
  const auto d = t.time_since_epoch().count();
  return d <= 0 ? 0 : static_cast<std::uint64_t>(d / ticks_per_);
}

time_point scheduler::time_of(std::uint64_t tick) const {
  const auto max_tick = static_cast<std::uint64_t>(time_point::max().time_since_epoch().count() / ticks_per_);
  if (tick >= max_tick) return time_point::max();
  return time_point{time_point::duration{static_cast<time_point::rep>(tick) * ticks_per_}};
}

scheduler::client scheduler::add_client(std::string name, on_due f) {
  std::lock_guard lock(dispatch_mu_);
  const client id = next_client_++;
  clients_.push_back(client_entry{id, std::move(name), std::move(f)});
  return id;
}

void scheduler::remove_client(client c) {
  std::lock_guard lock(dispatch_mu_);
  std::erase_if(clients_, [c](const client_entry& e) { return e.id == c; });
}

scheduler::timer scheduler::schedule_locked(client c, std::uint32_t slot, time_point due) {
  const std::uint64_t tick = due_tick(due);
  const timer t = wheel_.schedule(tick, payload(c, slot));
  if (tick < planned_) {
    planned_ = tick;
    if (waker_) waker_(time_of(tick));
  }
  return t;
}

scheduler::timer scheduler::schedule(client c, std::uint32_t slot, time_point due) {
  std::lock_guard lock(wheel_mu_);
  return schedule_locked(c, slot, due);
}

scheduler::timer scheduler::reschedule(client c, std::uint32_t slot, timer old, time_point due) {
  std::lock_guard lock(wheel_mu_);
  (void)wheel_.cancel(old);  // false when it fired meanwhile: its dispatch is stale for the client
  return schedule_locked(c, slot, due);
}

bool scheduler::cancel(timer t) {
  std::lock_guard lock(wheel_mu_);
  return wheel_.cancel(t);
}

std::size_t scheduler::advance(time_point now) {
  std::lock_guard one_at_a_time(dispatch_mu_);
  batch_.clear();
  {
    std::lock_guard lock(wheel_mu_);
    wheel_.advance(now_tick(now), [&](std::uint64_t p, std::uint64_t tick, timer h) {
      batch_.emplace_back(static_cast<client>(p >> 32), fired{static_cast<std::uint32_t>(p), h, time_of(tick)});
    });
  }
  const std::size_t n = batch_.size();
  dispatch(batch_);
  if (batch_.capacity() > 4096) std::vector<std::pair<client, fired>>().swap(batch_);  // a burst's memory goes
  return n;
}

void scheduler::dispatch(std::vector<std::pair<client, fired>>& batch) {
  // One batch per client, in the wheel's firing order within it (nondecreasing due tick).
  std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<fired> run;
  for (std::size_t i = 0; i < batch.size();) {
    std::size_t j = i;
    run.clear();
    while (j < batch.size() && batch[j].first == batch[i].first) run.push_back(batch[j++].second);
    auto it = std::find_if(clients_.begin(), clients_.end(), [&](const client_entry& e) { return e.id == batch[i].first; });
    if (it != clients_.end() && it->f) it->f(std::span<const fired>(run));
    i = j;
  }
}

std::optional<time_point> scheduler::next_wakeup() const {
  std::lock_guard lock(wheel_mu_);
  const auto t = wheel_.next_wakeup();
  if (!t) return std::nullopt;
  return time_of(*t);
}

time_point scheduler::plan(time_point latest) {
  std::lock_guard lock(wheel_mu_);
  std::uint64_t tick = std::max<std::uint64_t>(1, now_tick(latest));
  if (const auto next = wheel_.next_wakeup()) tick = std::min(tick, std::max<std::uint64_t>(1, *next));
  planned_ = tick;
  return time_of(tick);
}

void scheduler::set_waker(std::function<void(time_point)> w) {
  std::lock_guard lock(wheel_mu_);
  waker_ = std::move(w);
}

std::size_t scheduler::size() const {
  std::lock_guard lock(wheel_mu_);
  return wheel_.size();
}

}  // namespace credbroker
