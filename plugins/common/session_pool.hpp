#pragma once
// A bounded pool of database sessions, shared by the plugins (PostgreSQL: one per instance; Redis:
// one per node). Session is the driver's movable handle (a pqxx connection, a hiredis context).
//
// Spec:
// - At most limits.max_open sessions are open (idle + checked out + being opened). acquire() takes
//   the newest idle session that is still usable, or, below the cap, the right to open one (the
//   caller opens it outside every lock and calls abandon() if that fails); at the cap it waits,
//   FIFO by the condition variable, until a session comes back or `deadline` passes.
// - An idle session is unusable (and closed) when it belongs to an older generation, is older than
//   max_lifetime, or the caller's `usable` test says so.
// - give_back() keeps a healthy session idle when the pool is open, it is of this generation, fewer
//   than max_idle are idle, it is within max_lifetime and the pool is not keeping none (after
//   keep_no_idle_until); otherwise it is closed and its slot freed. It returns when the kept
//   session must be closed (idle past max_idle_time or past max_lifetime), for a reaper.
// - open(limits) and renew(limits) start a new generation: idle sessions close at once, sessions
//   checked out close when they come back and no longer count. close() does the same and refuses
//   acquire() until the next open().
// - Sessions are closed outside the pool's lock (a close may do network I/O).
// Example: max_open 2; A and B check out; C waits; A gives back -> C gets A's session; with
//   deadline passed and nothing back, C gets refusal::timed_out.
//
// Thread: every member is safe concurrently. mu_ (the idle list, the counters, the limits) is a
// leaf: no callback and no session close runs under it.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace credbroker::plugins::common {

struct pool_limits {
  std::size_t max_open = 1;
  std::size_t max_idle = 1;               // idle sessions kept at most
  std::chrono::seconds max_lifetime{0};   // 0 = forever
  std::chrono::seconds max_idle_time{0};  // 0 = an idle session is never reaped for idleness
};

struct pool_counts {
  std::size_t open = 0;
  std::size_t in_use = 0;
  std::size_t waiters = 0;
  std::size_t max_open = 0;  // 0 while the pool is not open
};

// When an idle session must be closed: idle too long, or too old; max() = never.
inline std::chrono::steady_clock::time_point close_due(std::chrono::steady_clock::time_point idle_since,
                                                       std::chrono::steady_clock::time_point created,
                                                       const pool_limits& l) {
  auto due = std::chrono::steady_clock::time_point::max();
  if (l.max_idle_time.count() > 0) due = std::min(due, idle_since + l.max_idle_time);
  if (l.max_lifetime.count() > 0) due = std::min(due, created + l.max_lifetime);
  return due;
}

template <class Session>
class session_pool {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using now_fn = time_point (*)();

  struct entry {
    Session session{};
    time_point created{};
    std::uint64_t generation = 0;
    time_point idle_since{};
  };
  enum class refusal { none, not_open, closed, timed_out };
  struct acquired {
    refusal refused = refusal::none;
    bool fresh = false;  // no session in `e`: the caller opens one (its slot is taken) or abandon()s
    entry e;
    explicit operator bool() const { return refused == refusal::none; }
  };

  // `now` is the pool's clock for ages (tests pass their own); waits use the real steady clock.
  explicit session_pool(now_fn now = &clock::now) : now_(now) {}

  time_point now() const { return now_(); }

  template <class Usable>
  acquired acquire(time_point deadline, Usable&& usable) {
    std::vector<entry> dropped;  // destroyed after the lock is released
    std::unique_lock lock(mu_);
    acquired out;
    if (!open_) {
      out.refused = refusal::not_open;
      return out;
    }
    for (;;) {
      while (!idle_.empty()) {
        entry e = std::move(idle_.back());
        idle_.pop_back();
        const bool stale = e.generation != generation_ ||
                           (limits_.max_lifetime.count() > 0 && now_() - e.created > limits_.max_lifetime) ||
                           !usable(e.session);
        if (!stale) {
          out.e = std::move(e);
          return out;
        }
        --open_count_;
        dropped.push_back(std::move(e));
      }
      if (open_count_ < limits_.max_open) {
        ++open_count_;
        out.fresh = true;
        out.e.generation = generation_;
        out.e.created = now_();
        return out;
      }
      ++waiting_;
      const auto woke = cv_.wait_until(lock, deadline);
      --waiting_;
      if (woke == std::cv_status::timeout) {
        out.refused = refusal::timed_out;
        return out;
      }
      if (!open_) {
        out.refused = refusal::closed;
        return out;
      }
    }
  }
  acquired acquire(time_point deadline) {
    return acquire(deadline, [](const Session&) { return true; });
  }

  // A slot taken in `generation` whose session could not be opened.
  void abandon(std::uint64_t generation) {
    {
      std::lock_guard lock(mu_);
      if (generation == generation_ && open_count_ > 0) --open_count_;
    }
    cv_.notify_one();
  }

  // A slot of `generation` after the pool may have been renewed meanwhile: counted in the current
  // generation's pool from now on. Returns that generation, or false when the pool is not open.
  bool recount(std::uint64_t& generation) {
    std::lock_guard lock(mu_);
    if (!open_) return false;
    if (generation != generation_) {
      ++open_count_;
      generation = generation_;
    }
    return true;
  }

  // Returns the session; kept idle or closed (broken, or see the spec). The result is when the
  // kept session must be closed (max() when never, or when it was not kept).
  time_point give_back(entry e, bool broken) {
    auto due = time_point::max();
    {
      std::lock_guard lock(mu_);
      const auto now = now_();
      const bool keep = !broken && open_ && e.generation == generation_ && idle_.size() < limits_.max_idle &&
                        (limits_.max_lifetime.count() == 0 || now - e.created <= limits_.max_lifetime) &&
                        !(now < keep_none_until_);
      if (keep) {
        e.idle_since = now;
        due = close_due(e.idle_since, e.created, limits_);
        idle_.push_back(std::move(e));
      } else if (e.generation == generation_ && open_count_ > 0) {
        --open_count_;
      }
    }
    cv_.notify_one();
    return due;  // a session not kept closes here, outside the lock
  }

  // Opens the pool (again) with these limits: a new generation.
  void open(const pool_limits& l) { restart(l, true); }
  // New limits, a new generation; whether the pool is open stays as it is.
  void renew(const pool_limits& l) { restart(l, false); }
  // Closes every idle session; acquire() is refused until open().
  void close() {
    std::vector<entry> dropped;
    {
      std::lock_guard lock(mu_);
      open_ = false;
      dropped.swap(idle_);
      ++generation_;
      open_count_ = 0;
    }
    cv_.notify_all();
  }

  // Closes the idle sessions now and keeps none idle before `until` (the database ran out of slots).
  void keep_no_idle_until(time_point until) {
    std::vector<entry> dropped;
    {
      std::lock_guard lock(mu_);
      keep_none_until_ = until;
      dropped.swap(idle_);
      open_count_ -= std::min(open_count_, dropped.size());
    }
    cv_.notify_all();
  }

  // Closes the idle sessions due by `now`; returns the next due time of those left (max(): none).
  time_point reap(time_point now) {
    std::vector<entry> expired;
    auto next = time_point::max();
    {
      std::lock_guard lock(mu_);
      for (auto it = idle_.begin(); it != idle_.end();) {
        const auto due = close_due(it->idle_since, it->created, limits_);
        if (due <= now) {
          expired.push_back(std::move(*it));
          it = idle_.erase(it);
          if (open_count_ > 0) --open_count_;
        } else {
          next = std::min(next, due);
          ++it;
        }
      }
    }
    if (!expired.empty()) {
      expired.clear();  // closed outside the lock
      cv_.notify_all();
    }
    return next;
  }

  pool_counts counts() const {
    std::lock_guard lock(mu_);
    pool_counts c;
    c.open = open_count_;
    c.in_use = open_count_ - std::min(open_count_, idle_.size());
    c.waiters = waiting_;
    c.max_open = open_ ? limits_.max_open : 0;
    return c;
  }
  std::size_t idle() const {
    std::lock_guard lock(mu_);
    return idle_.size();
  }

 private:
  void restart(const pool_limits& l, bool reopen) {
    std::vector<entry> dropped;
    {
      std::lock_guard lock(mu_);
      limits_ = l;
      ++generation_;
      dropped.swap(idle_);
      open_count_ = 0;
      if (reopen) open_ = true;
    }
    cv_.notify_all();
  }

  now_fn now_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  pool_limits limits_;
  std::vector<entry> idle_;
  std::size_t open_count_ = 0;
  std::size_t waiting_ = 0;
  std::uint64_t generation_ = 0;
  bool open_ = false;
  time_point keep_none_until_ = time_point::min();
};

}  // namespace credbroker::plugins::common
