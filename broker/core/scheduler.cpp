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
  for (auto& [_, g] : groups_) g.clear();
  std::size_t n = 0;
  {
    std::lock_guard lock(wheel_mu_);
    std::vector<fired>* last = nullptr;
    client last_client = 0;
    wheel_.advance(now_tick(now), [&](std::uint64_t p, std::uint64_t tick, timer h) {
      const auto c = static_cast<client>(p >> 32);
      if (last == nullptr || c != last_client) {  // few clients: a look along the groups
        auto it = std::find_if(groups_.begin(), groups_.end(), [c](const auto& g) { return g.first == c; });
        if (it == groups_.end()) it = groups_.insert(groups_.end(), {c, {}});
        last = &it->second;
        last_client = c;
      }
      last->push_back(fired{static_cast<std::uint32_t>(p), h, time_of(tick)});
      ++n;
    });
  }
  for (auto& [c, g] : groups_) {
    if (g.empty()) continue;
    auto it = std::find_if(clients_.begin(), clients_.end(), [id = c](const client_entry& e) { return e.id == id; });
    if (it != clients_.end() && it->f) it->f(std::span<const fired>(g));
  }
  // A burst's memory goes; so do the groups of clients that left.
  std::erase_if(groups_, [this](auto& g) {
    if (g.second.capacity() > 4096) std::vector<fired>().swap(g.second);
    return std::none_of(clients_.begin(), clients_.end(), [&](const client_entry& e) { return e.id == g.first; });
  });
  return n;
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
