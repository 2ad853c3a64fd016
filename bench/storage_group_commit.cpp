// Durable puts per second with 1, 8 and 64 concurrent writers, on the same disk, in the same run:
//   naive    one SQLite transaction (and fsync) per put, same pragmas (WAL, synchronous=FULL);
//            SQLite admits one writer at a time, so writers take turns on one connection
//   group    credbroker's sqlite_backend: concurrent writers share one transaction and one fsync
//   barrier  group + AES-256-GCM encryption (the path every credbroker write takes)
// Then the same for PostgreSQL when the throwaway server's env is sourced (CREDBROKER_TEST_PG_*):
//   raw      one autocommit INSERT ... ON CONFLICT per put, one session per writer (PostgreSQL's own
//            WAL flush is shared by commits that arrive together)
//   group    credbroker's postgresql_backend: one writer session, concurrent writers share one
//            statement, one transaction and one commit
// Usage: bench_storage_group_commit [DIR] [SECONDS_PER_CELL]   (default /tmp, 3); BENCH_ONLY=sqlite or
//        BENCH_ONLY=postgresql runs one of the two tables
#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/barrier/barrier.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/postgresql_backend.hpp"
#include "broker/storage/sqlite_backend.hpp"

using namespace credbroker;
using clock_type = std::chrono::steady_clock;

namespace {

const std::string value(256, 'v');  // about the size of a lease record

double run_writers(int writers, double seconds, const std::function<bool(int, long)>& put) {
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  const auto start = clock_type::now();
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        if (put(w, i)) done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  return static_cast<double>(done.load()) / elapsed;
}

double naive(const std::string& path, int writers, double seconds) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     -1, &st, nullptr);
  std::mutex mu;
  const double rate = run_writers(writers, seconds, [&](int w, long i) {
    const std::string key = "n/" + std::to_string(w) + "/" + std::to_string(i);
    std::lock_guard lock(mu);
    sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    const bool ok = sqlite3_step(st) == SQLITE_DONE;  // autocommit: one transaction, one fsync
    sqlite3_reset(st);
    return ok;
  });
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

template <class Backend>
double grouped(Backend& db, int writers, double seconds, bool encrypt, double* per_commit) {
  barrier::barrier b(db);
  if (encrypt) {
    const auto raw = random_bytes(32);
    (void)b.initialize(secret(std::string(raw.begin(), raw.end())));
  }
  storage::physical& target = encrypt ? static_cast<storage::physical&>(b) : db;
  const auto c0 = db.commits(), w0 = db.committed_writes();
  const std::string tag = random_alnum(6);
  const double rate = run_writers(writers, seconds, [&](int w, long i) {
    return target.put("g/" + tag + "/" + std::to_string(w) + "/" + std::to_string(i), value).ok();
  });
  const auto commits = db.commits() - c0, writes = db.committed_writes() - w0;
  *per_commit = commits == 0 ? 0 : static_cast<double>(writes) / static_cast<double>(commits);
  return rate;
}

std::unique_ptr<storage::sqlite_backend> open_sqlite(const std::string& path) {
  storage::sqlite_options o;
  o.path = path;
  auto db = storage::sqlite_backend::open(o);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.err().message.c_str());
    std::exit(1);
  }
  return std::move(*db);
}

std::string pg_conninfo() {
  auto env = [](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v == nullptr ? "" : v);
  };
  if (env("CREDBROKER_TEST_PG_HOST").empty()) return {};
  return "host=" + env("CREDBROKER_TEST_PG_HOST") + " port=" + env("CREDBROKER_TEST_PG_PORT") +
         " dbname=" + env("CREDBROKER_TEST_PG_DATABASE") + " user=" + env("CREDBROKER_TEST_PG_USER") +
         " password=" + env("CREDBROKER_TEST_PG_PASSWORD");
}

// One autocommit upsert per put, each writer on its own session.
double raw_pg(const std::string& conninfo, const std::string& table, int writers, double seconds) {
  std::vector<std::unique_ptr<pqxx::connection>> sessions;
  for (int w = 0; w < writers; ++w) {
    sessions.push_back(std::make_unique<pqxx::connection>(conninfo));
    sessions.back()->prepare("put", "INSERT INTO " + table +
                                        " (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
  }
  const pqxx::binarystring v(value.data(), value.size());
  return run_writers(writers, seconds, [&](int w, long i) {
    const std::string key = "n/" + std::to_string(w) + "/" + std::to_string(i);
    pqxx::nontransaction tx(*sessions[static_cast<std::size_t>(w)]);
    tx.exec_prepared("put", pqxx::binarystring(key.data(), key.size()), v);
    return true;
  });
}

std::unique_ptr<storage::postgresql_backend> open_pg(const std::string& conninfo, const std::string& table) {
  storage::postgresql_options o;
  o.connection_url = secret(conninfo);
  o.table = table;
  auto db = storage::postgresql_backend::open(o);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.err().message.c_str());
    std::exit(1);
  }
  return std::move(*db);
}

void postgresql_table(double seconds) {
  const std::string conninfo = pg_conninfo();
  if (conninfo.empty()) {
    std::printf("\n(PostgreSQL skipped: source the env file of scripts/test-servers.sh)\n");
    return;
  }
  std::string stem = "bench_kv_" + random_alnum(6);
  for (auto& ch : stem) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::vector<std::string> tables;
  std::printf("\n| writers | raw INSERT commits/s | group commit puts/s | ratio | writes per commit | group + barrier puts/s |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int writers : {1, 8, 64}) {
    const auto tag = std::to_string(writers);
    for (const char* kind : {"_raw", "_group", "_barrier"}) tables.push_back(stem + kind + tag);
    (void)open_pg(conninfo, stem + "_raw" + tag);  // creates the table
    const double n = raw_pg(conninfo, stem + "_raw" + tag, writers, seconds);
    double per_commit = 0, per_commit_b = 0;
    const double g = grouped(*open_pg(conninfo, stem + "_group" + tag), writers, seconds, false, &per_commit);
    const double gb = grouped(*open_pg(conninfo, stem + "_barrier" + tag), writers, seconds, true, &per_commit_b);
    std::printf("| %d | %.0f | %.0f | %.1fx | %.1f | %.0f |\n", writers, n, g, g / n, per_commit, gb);
    std::fflush(stdout);
  }
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  for (const auto& t : tables) tx.exec("DROP TABLE IF EXISTS " + t);
}

void sqlite_table(const std::string& base, double seconds) {
  const auto dir = std::filesystem::path(base) / ("credbroker-bench-" + random_alnum(8));
  std::filesystem::create_directories(dir);
  std::printf("| writers | naive puts/s | group commit puts/s | ratio | writes per commit | group + barrier puts/s |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int writers : {1, 8, 64}) {
    const auto tag = std::to_string(writers);
    const double n = naive((dir / ("naive-" + tag + ".db")).string(), writers, seconds);
    double per_commit = 0, per_commit_b = 0;
    const double g = grouped(*open_sqlite((dir / ("group-" + tag + ".db")).string()), writers, seconds, false, &per_commit);
    const double gb = grouped(*open_sqlite((dir / ("barrier-" + tag + ".db")).string()), writers, seconds, true, &per_commit_b);
    std::printf("| %d | %.0f | %.0f | %.1fx | %.1f | %.0f |\n", writers, n, g, g / n, per_commit, gb);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string base = argc > 1 ? argv[1] : "/tmp";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 3.0;
  const char* only_env = std::getenv("BENCH_ONLY");  // "sqlite" or "postgresql": one table only
  const std::string only = only_env == nullptr ? "" : only_env;
  if (only.empty() || only == "sqlite") sqlite_table(base, seconds);
  if (only.empty() || only == "postgresql") postgresql_table(seconds);
  return 0;
}
