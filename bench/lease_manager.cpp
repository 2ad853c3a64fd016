// Lease manager benchmarks (issue 5's goals), in one run:
//   restore   N leases written to SQLite through the barrier, then a fresh manager's restore() time
//   memory    resident bytes per active lease held by the manager and the scheduler (index + timer
//             wheel), at 1M and 10M, each in a fresh child process, with storage that keeps nothing
//             (so only the manager and the scheduler count)
//   lag       L leases expiring uniformly within W seconds, real clock, the scheduler on its Asio
//             driver and the blocking executor as the server wires them, a fake revoker recording
//             (revocation start - expire_time): p50, p99, max
// Usage: bench_lease_manager [restore_n=1000000] [lag_n=100000] [lag_window_s=60]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "bench/support.hpp"
#include "broker/barrier/barrier.hpp"
#include "broker/core/blocking_executor.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/core/scheduler_driver.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/sqlite_backend.hpp"
#include "leases/lease_manager.hpp"

using namespace credbroker;
using std::chrono::duration; using std::chrono::hours; using std::chrono::milliseconds; using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

using credbroker::bench::rss_bytes;

leases::lease make_lease(std::size_t i, time_point now, seconds ttl) {
  leases::lease l;
  l.id = "database/creds/app" + std::to_string(i % 100) + "/" + random_alnum(24);
  l.connection = "pg";
  l.role = "app" + std::to_string(i % 100);
  l.username = "v-token-app-" + random_alnum(20) + "-1800000000";
  l.role_ttl = seconds{3600};
  l.role_max_ttl = seconds{86400};
  l.issue_time = now;
  l.expire_time = now + ttl;
  l.state = leases::lease_state::active;
  l.token_accessor = random_alnum(24);
  return l;
}

struct null_revoker final : leases::revoker {
  status revoke(const leases::lease&) override { return ok_v; }
  status renew(const leases::lease&, time_point) override { return ok_v; }
};

// Storage that accepts every write and keeps nothing: isolates the manager's own memory.
struct null_storage final : storage::physical {
  result<std::optional<std::string>> get(const std::string&) override { return std::optional<std::string>{}; }
  result<std::vector<std::string>> list(const std::string&) override { return std::vector<std::string>{}; }
  status apply(std::vector<storage::operation>) override { return ok_v; }
  status scan(const std::string&, const std::function<bool(const std::string&, std::string_view)>&) override {
    return ok_v;
  }
};

void bench_restore(std::size_t n) {
  const auto dir = std::filesystem::temp_directory_path() / ("credbroker-lease-bench-" + random_alnum(8));
  const std::string path = (dir / "credbroker.db").string();
  const auto raw = random_bytes(32);
  const secret root(std::string(raw.begin(), raw.end()));
  credbroker::system_clock wall;
  {
    storage::sqlite_options o;
    o.path = path;
    auto db = storage::sqlite_backend::open(o);
    barrier::barrier b(**db);
    (void)b.initialize(root);
    // Concurrent writers so group commit batches them.
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&] {
        for (;;) {
          const std::size_t start = next.fetch_add(1000);
          if (start >= n) return;
          std::vector<storage::operation> ops;
          for (std::size_t i = start; i < std::min(n, start + 1000); ++i) {
            auto l = make_lease(i, wall.now(), hours{24});
            ops.push_back(storage::operation::put(leases::lease_storage_prefix + l.id, leases::encode(l)));
          }
          (void)b.apply(std::move(ops));
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  storage::sqlite_options o;
  o.path = path;
  auto db = storage::sqlite_backend::open(o);
  barrier::barrier b(**db);
  (void)b.unseal(root);
  null_revoker rv;
  scheduler timers(wall.now());
  blocking_executor exec({});
  leases::lease_manager m(b, rv, wall, timers, exec, {});
  const long before = rss_bytes();
  const auto t0 = steady_clock::now();
  auto bad = m.restore();
  const double secs = duration<double>(steady_clock::now() - t0).count();
  std::printf("| restore | %zu leases from SQLite | %.2f s | %zu restored, %zu unreadable | RSS +%.0f MB |\n", n, secs,
              bad.ok() ? bad->restored : 0, bad.ok() ? bad->unreadable.size() : 0,
              static_cast<double>(rss_bytes() - before) / 1e6);
  std::fflush(stdout);
  std::filesystem::remove_all(dir);
}

void bench_memory(std::size_t n) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid != 0) {
    int st = 0;
    waitpid(pid, &st, 0);
    return;
  }
  null_storage store;
  null_revoker rv;
  credbroker::system_clock wall;
  scheduler timers(wall.now());
  blocking_executor exec({});
  leases::lease_manager m(store, rv, wall, timers, exec, {});
  // Generate ids first so their temporary strings are not counted.
  const long before = rss_bytes();
  for (std::size_t i = 0; i < n; ++i) (void)m.add(make_lease(i, wall.now(), hours{24} + seconds{static_cast<long>(i % 86400)}));
  const long after = rss_bytes();
  std::printf("| memory | %zu active leases | %.0f bytes/lease | manager index + scheduler wheel | |\n", n,
              static_cast<double>(after - before) / static_cast<double>(n));
  std::fflush(stdout);
  std::_Exit(0);
}

void bench_lag(std::size_t n, int window_s) {
  struct recording_revoker final : leases::revoker {
    std::mutex mu;
    std::vector<double> lags_ms;
    status revoke(const leases::lease& l) override {
      const double lag = duration<double, std::milli>(std::chrono::system_clock::now() - l.expire_time).count();
      std::lock_guard lock(mu);
      lags_ms.push_back(lag);
      return ok_v;
    }
    status renew(const leases::lease&, time_point) override { return ok_v; }
  } rv;
  storage::inmem_backend store;
  credbroker::system_clock wall;
  scheduler timers(wall.now());
  blocking_executor exec({});
  leases::lease_manager m(store, rv, wall, timers, exec, {});
  const auto start = wall.now() + seconds{2};
  for (std::size_t i = 0; i < n; ++i) {
    auto l = make_lease(i, wall.now(), seconds{0});
    l.expire_time = start + milliseconds{static_cast<long>(i * 1000ULL * static_cast<unsigned>(window_s) / n)};
    (void)m.add(l);
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  scheduler_driver driver(io, timers, wall);
  driver.start();
  std::thread io_thread([&io] { io.run(); });
  const auto deadline = std::chrono::steady_clock::now() + seconds{window_s + 30};
  for (;;) {
    {
      std::lock_guard lock(rv.mu);
      if (rv.lags_ms.size() >= n) break;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(milliseconds{200});
  }
  driver.stop();
  work.reset();
  io_thread.join();
  exec.stop();
  std::vector<double> lags = rv.lags_ms;
  std::sort(lags.begin(), lags.end());
  auto pct = [&](double p) { return lags.empty() ? 0.0 : lags[static_cast<std::size_t>(p * static_cast<double>(lags.size() - 1))]; };
  std::printf("| expiry lag | %zu leases within %d s | p50 %.0f ms, p99 %.0f ms, max %.0f ms | %zu revoked, min %.1f ms | |\n",
              n, window_s, pct(0.50), pct(0.99), lags.empty() ? 0.0 : lags.back(), lags.size(),
              lags.empty() ? 0.0 : lags.front());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t restore_n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const std::size_t lag_n = argc > 2 ? std::stoull(argv[2]) : 100'000;
  const int window = argc > 3 ? std::stoi(argv[3]) : 60;
  std::printf("| benchmark | size | result | detail | memory |\n|---|---|---|---|---|\n");
  const char* only = std::getenv("CREDBROKER_BENCH_ONLY");  // memory | restore | lag
  auto want = [&](const char* name) { return only == nullptr || std::string(only) == name; };
  if (want("memory")) {
    bench_memory(1'000'000);
    bench_memory(10'000'000);
  }
  if (want("restore")) bench_restore(restore_n);
  if (want("lag")) bench_lag(lag_n, window);
  return 0;
}
