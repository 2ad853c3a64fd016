// Writes N real lease records into an HA cluster's PostgreSQL storage table, sealed by the cluster's
// barrier, as the active would have stored them: active, 24 h leases of database/creds/app on the
// connection "pg", ids as new_lease_suffix makes them. bench/ha_takeover.py uses it to put 10^5 or
// 10^6 leases behind a takeover without minutes of issuance first. The records are written without
// the HA fence (ha_enabled = false), next to a running cluster: their keys are new, so they collide
// with nothing the active writes, and the next active's restore scans them like any other lease.
// Usage: bench_ha_seed_leases <table> <count>, with CREDBROKER_SEED_CONNINFO=<libpq URL> and
// CREDBROKER_SEED_KEY=<the cluster's root key in hex> in the environment.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "broker/barrier/barrier.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/postgresql_backend.hpp"
#include "leases/lease.hpp"

using namespace credbroker;

namespace {

constexpr std::size_t batch_size = 1000;
constexpr int writers = 4;

leases::lease make_lease(time_point now) {
  leases::lease l;
  l.id = "database/creds/app/" + leases::new_lease_suffix(now);
  l.connection = "pg";
  l.role = "app";
  l.username = "v-seed-app-" + random_alnum(20);
  l.role_ttl = std::chrono::hours{1};
  l.role_max_ttl = std::chrono::hours{24};
  l.issue_time = now;
  l.expire_time = now + std::chrono::hours{24};
  l.state = leases::lease_state::active;
  return l;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_ha_seed_leases: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const char* conninfo = std::getenv("CREDBROKER_SEED_CONNINFO");
  const char* key_hex = std::getenv("CREDBROKER_SEED_KEY");
  if (argc != 3 || conninfo == nullptr || key_hex == nullptr) {
    fail("usage: CREDBROKER_SEED_CONNINFO=... CREDBROKER_SEED_KEY=<hex> bench_ha_seed_leases <table> <count>");
  }
  const std::size_t n = std::strtoull(argv[2], nullptr, 10);
  storage::postgresql_options o;
  o.connection_url = secret(conninfo);
  o.table = argv[1];
  o.max_parallel = writers + 1;
  auto db = storage::postgresql_backend::open(o);
  if (!db) fail(db.err().message);
  auto key = hex_decode(key_hex);
  if (!key) fail("CREDBROKER_SEED_KEY is not hex");
  barrier::barrier b(**db);
  if (auto s = b.unseal(secret(std::move(*key))); !s) fail(s.err().message);
  credbroker::system_clock wall;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < writers; ++t) {
    ts.emplace_back([&] {
      for (;;) {
        const std::size_t start = next.fetch_add(batch_size);
        if (start >= n || failed) return;
        std::vector<storage::operation> ops;
        for (std::size_t i = start; i < std::min(n, start + batch_size); ++i) {
          auto l = make_lease(wall.now());
          ops.push_back(storage::operation::put(leases::lease_storage_prefix + l.id, leases::encode(l)));
        }
        if (auto s = b.apply(std::move(ops)); !s) {
          std::fprintf(stderr, "bench_ha_seed_leases: %s\n", s.err().message.c_str());
          failed = true;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  if (failed) return 1;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("seeded %zu leases in %.1f s\n", n, secs);
  return 0;
}
