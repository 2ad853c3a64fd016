// The process's timer: credbroker's hierarchical wheel, and the scheduler that shares it between
// clients (the same wheel behind its lock, entries as (client, slot), due entries handed over in a
// batch), against std::priority_queue and std::multimap with 1M and 10M pending entries, in the same run. Reports ns per schedule, cancel and expiry, and the
// resident memory each structure adds per entry (each measured in a fresh child process).
// Ticks are milliseconds; dues spread uniformly over 30 days (lease TTLs).
// Usage: bench_timer_wheel [N...]   (default 1000000 10000000)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "bench/support.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/core/timer_wheel.hpp"

using credbroker::scheduler;
using credbroker::time_point;
using credbroker::timer_wheel;
using steady = std::chrono::steady_clock;

namespace {

using credbroker::bench::rss_bytes;

double ns_per(steady::time_point a, steady::time_point b, std::size_t n) {
  return std::chrono::duration<double, std::nano>(b - a).count() / static_cast<double>(n);
}

struct row {
  const char* name;
  double schedule_ns, cancel_ns, expire_ns, bytes_per_entry;
};

void print(std::size_t n, const row& r) {
  std::printf("| %zuM | %s | %.0f | %.0f | %.0f | %.0f |\n", n / 1000000, r.name, r.schedule_ns, r.cancel_ns,
              r.expire_ns, r.bytes_per_entry);
  std::fflush(stdout);
}

constexpr std::uint64_t horizon = 30ULL * 24 * 3600 * 1000;  // 30 days in ms

row bench_wheel(const std::vector<std::uint64_t>& dues, const std::vector<std::size_t>& victims) {
  const long before = rss_bytes();
  timer_wheel w(0);
  std::vector<timer_wheel::handle> handles(dues.size());
  auto t0 = steady::now();
  for (std::size_t i = 0; i < dues.size(); ++i) handles[i] = w.schedule(dues[i], i);
  auto t1 = steady::now();
  const long after = rss_bytes() - static_cast<long>(handles.size() * sizeof(timer_wheel::handle));
  for (auto v : victims) w.cancel(handles[v]);
  auto t2 = steady::now();
  std::size_t fired = 0;
  w.advance(horizon + 1, [&](std::uint64_t, std::uint64_t) { ++fired; });
  auto t3 = steady::now();
  return {"timer_wheel", ns_per(t0, t1, dues.size()), ns_per(t1, t2, victims.size()), ns_per(t2, t3, fired),
          static_cast<double>(after - before) / static_cast<double>(dues.size())};
}

row bench_scheduler(const std::vector<std::uint64_t>& dues, const std::vector<std::size_t>& victims) {
  const long before = rss_bytes();
  scheduler s(time_point{}, std::chrono::milliseconds(1));
  std::size_t fired = 0;
  const auto c = s.add_client("bench", [&](std::span<const scheduler::fired> due) { fired += due.size(); });
  std::vector<scheduler::timer> handles(dues.size());
  auto t0 = steady::now();
  for (std::size_t i = 0; i < dues.size(); ++i) {
    handles[i] = s.schedule(c, static_cast<std::uint32_t>(i), time_point{std::chrono::milliseconds(dues[i])});
  }
  auto t1 = steady::now();
  const long after = rss_bytes() - static_cast<long>(handles.size() * sizeof(scheduler::timer));
  for (auto v : victims) s.cancel(handles[v]);
  auto t2 = steady::now();
  s.advance(time_point{std::chrono::milliseconds(horizon + 1)});
  auto t3 = steady::now();
  return {"scheduler", ns_per(t0, t1, dues.size()), ns_per(t1, t2, victims.size()), ns_per(t2, t3, fired),
          static_cast<double>(after - before) / static_cast<double>(dues.size())};
}

row bench_pq(const std::vector<std::uint64_t>& dues, const std::vector<std::size_t>& victims) {
  const long before = rss_bytes();
  using item = std::pair<std::uint64_t, std::uint64_t>;
  std::priority_queue<item, std::vector<item>, std::greater<>> pq;
  auto t0 = steady::now();
  for (std::size_t i = 0; i < dues.size(); ++i) pq.emplace(dues[i], i);
  auto t1 = steady::now();
  const long after = rss_bytes();
  // No cancel in a binary heap: the usual lazy deletion (a tombstone set checked at expiry).
  std::unordered_set<std::uint64_t> cancelled;
  for (auto v : victims) cancelled.insert(v);
  auto t2 = steady::now();
  std::size_t fired = 0;
  while (!pq.empty()) {
    if (!cancelled.contains(pq.top().second)) ++fired;
    pq.pop();
  }
  auto t3 = steady::now();
  return {"std::priority_queue", ns_per(t0, t1, dues.size()), ns_per(t1, t2, victims.size()),
          ns_per(t2, t3, dues.size()), static_cast<double>(after - before) / static_cast<double>(dues.size())};
}

row bench_multimap(const std::vector<std::uint64_t>& dues, const std::vector<std::size_t>& victims) {
  const long before = rss_bytes();
  std::multimap<std::uint64_t, std::uint64_t> m;
  std::vector<std::multimap<std::uint64_t, std::uint64_t>::iterator> its(dues.size());
  auto t0 = steady::now();
  for (std::size_t i = 0; i < dues.size(); ++i) its[i] = m.emplace(dues[i], i);
  auto t1 = steady::now();
  const long after = rss_bytes() - static_cast<long>(its.size() * sizeof(its[0]));
  for (auto v : victims) m.erase(its[v]);
  auto t2 = steady::now();
  std::size_t fired = 0;
  while (!m.empty()) {
    m.erase(m.begin());
    ++fired;
  }
  auto t3 = steady::now();
  return {"std::multimap", ns_per(t0, t1, dues.size()), ns_per(t1, t2, victims.size()), ns_per(t2, t3, fired),
          static_cast<double>(after - before) / static_cast<double>(dues.size())};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoull(argv[i]));
  if (sizes.empty()) sizes = {1'000'000, 10'000'000};
  std::printf("| pending | structure | schedule ns/op | cancel ns/op | expire ns/entry | resident bytes/entry |\n");
  std::printf("|---:|---|---:|---:|---:|---:|\n");
  for (std::size_t n : sizes) {
    std::mt19937_64 rng(n);
    std::vector<std::uint64_t> dues(n);
    for (auto& d : dues) d = 1 + rng() % horizon;
    std::vector<std::size_t> victims(n / 10);
    for (auto& v : victims) v = rng() % n;
    std::sort(victims.begin(), victims.end());
    victims.erase(std::unique(victims.begin(), victims.end()), victims.end());
    std::shuffle(victims.begin(), victims.end(), rng);
    // Each structure in a fresh child process, so its resident memory is its own.
    std::fflush(stdout);
    for (auto* fn : {&bench_wheel, &bench_scheduler, &bench_pq, &bench_multimap}) {
      const pid_t pid = fork();
      if (pid == 0) {
        print(n, (*fn)(dues, victims));
        std::_Exit(0);
      }
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
  return 0;
}
