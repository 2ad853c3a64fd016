// Mount changes beside issuance (issue 16: "mount enable/disable/tune during issuance on another
// mount leaves that issuance's p99 unchanged"). One process: the mount tables over storage whose
// writes of the mount table take SLOW_MS (a slow disk or a remote store; every other key is in
// memory), a database mount on the fake plugin (in memory: what is left is the broker's own path),
// ISSUERS threads issuing on it; phases alternate "quiet" and "churn" (one more thread enabling,
// tuning and disabling another mount in a loop). Prints p50, p99 and max of issuance per phase and
// the churn / quiet ratios of the same run. With the table's lock held across its write and read on
// every issuance (before broker/mounts) the churn p99 was at least SLOW_MS.
// Usage: bench_mount_churn [issues per phase=20000] [SLOW_MS=20]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "broker/core/blocking_executor.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/mounts/secret_mounts.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/fake_plugin.hpp"

using namespace credbroker;
using std::chrono::steady_clock;

namespace {

constexpr int issuers = 4;

class slow_table_store final : public storage::physical {
 public:
  explicit slow_table_store(int slow_ms) : slow_(slow_ms) {}
  result<std::optional<std::string>> get(const std::string& k) override { return inner_.get(k); }
  result<std::vector<std::string>> list(const std::string& p) override { return inner_.list(p); }
  status scan(const std::string& p, const std::function<bool(const std::string&, std::string_view)>& v) override {
    return inner_.scan(p, v);
  }
  status apply(std::vector<storage::operation> ops) override {
    for (const auto& op : ops) {
      if (op.key == mounts::secret_mounts::table_key) std::this_thread::sleep_for(slow_);
    }
    return inner_.apply(std::move(ops));
  }

 private:
  std::chrono::milliseconds slow_;
  storage::inmem_backend inner_;
};

struct stats {
  double p50, p99, max;
};

stats summarise(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))]; };
  return {at(0.50), at(0.99), us.back()};
}

// `n` issuances over `issuers` threads; microseconds each.
std::vector<double> issue_phase(engine::database_engine& e, std::size_t n) {
  std::vector<std::vector<double>> per(issuers);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < issuers; ++t) {
    ts.emplace_back([&, t] {
      while (next.fetch_add(1) < n) {
        const auto t0 = steady_clock::now();
        auto c = e.issue("app", {});
        const double us = std::chrono::duration<double, std::micro>(steady_clock::now() - t0).count();
        if (!c) {
          std::fprintf(stderr, "issue failed: %s\n", c.err().message.c_str());
          std::exit(1);
        }
        per[t].push_back(us);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<double> all;
  for (auto& p : per) all.insert(all.end(), p.begin(), p.end());
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  const int slow_ms = argc > 2 ? std::atoi(argv[2]) : 20;
  slow_table_store store(slow_ms);
  auto db = std::make_shared<testing_support::fake_database>();
  plugin::registry plugins;
  plugins.add("fake-database-plugin", [db] { return std::make_unique<testing_support::fake_plugin>(db); });
  engine::engine_router engines;
  engine::password_policies passwords{store};
  credbroker::system_clock wall;
  scheduler timers(wall.now());
  blocking_executor exec({});
  leases::manager_options o;
  o.limits = {std::chrono::hours{1}, std::chrono::hours{2}};
  leases::lease_manager leases(store, engines, wall, timers, exec, o);
  mounts::secret_mounts table(mounts::engine_services{store, plugins, leases, passwords, engines, wall, o.limits});
  if (!table.enable("database", "database", "", {}, {})) return 1;
  auto e = engines.find_for_lease("database/");
  engine::config_update c;
  c.name = "pg";
  c.plugin_name = "fake-database-plugin";
  c.allowed_roles = std::vector<std::string>{"*"};
  c.details = {{"connection_url", "fake://db"}, {"username", "admin"}, {"password", "pw"}};
  engine::role r;
  r.name = "app";
  r.db_name = "pg";
  r.creation_statements = {"CREATE ROLE {{name}}"};
  if (!e->write_config(c) || !e->write_role(r)) return 1;
  (void)issue_phase(*e, 2000);  // warm-up

  std::printf("| phase | issuances | p50 | p99 | max | mount changes |\n|---|---|---|---|---|---|\n");
  std::vector<double> quiet, churn;
  for (int round = 0; round < 2; ++round) {
    auto q = issue_phase(*e, n);
    const stats sq = summarise(q);
    std::printf("| quiet %d | %zu | %.0f us | %.0f us | %.0f us | 0 |\n", round + 1, n, sq.p50, sq.p99, sq.max);
    quiet.insert(quiet.end(), q.begin(), q.end());

    std::atomic<bool> stop{false};
    std::atomic<int> changes{0};
    std::thread churner([&] {
      while (!stop) {
        (void)table.enable("churn", "database", "", {}, {});
        (void)table.tune("churn", {std::chrono::seconds{600}, std::nullopt, std::nullopt});
        (void)table.disable("churn");
        changes += 3;
      }
    });
    auto ch = issue_phase(*e, n);
    stop = true;
    churner.join();
    const stats sc = summarise(ch);
    std::printf("| churn %d | %zu | %.0f us | %.0f us | %.0f us | %d |\n", round + 1, n, sc.p50, sc.p99, sc.max,
                changes.load());
    churn.insert(churn.end(), ch.begin(), ch.end());
  }
  const stats a = summarise(quiet), b = summarise(churn);
  std::printf("\nchurn / quiet: p50 %.2f, p99 %.2f (table writes take %d ms)\n", b.p50 / a.p50, b.p99 / a.p99, slow_ms);
  (void)leases.revoke_prefix("database/");
  return 0;
}
