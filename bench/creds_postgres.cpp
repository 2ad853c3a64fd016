// Issuance throughput against PostgreSQL (issue 6's goal), in one run on the same database:
//   raw     the creation transaction run directly with libpqxx: BEGIN; CREATE ROLE "<name>" WITH LOGIN
//           PASSWORD '<20 chars>' VALID UNTIL '<expiry>'; COMMIT — one connection per client thread
//   broker  GET /v1/database/creds/bench on the real credbroker binary (SQLite storage, durable leases,
//           request log on) over keep-alive HTTP connections, one per client thread; the role runs the
//           same statement, and the connection's pool has max_open_connections = the concurrency
// For each concurrency: raw, broker, raw, broker (alternating, so drift on this shared machine hits
// both), each for S seconds; creds/s, p50 and p99 latency; the ratio broker/raw of the means.
// Users are dropped between cells (not timed): the broker's leases with revoke-force, the roles by SQL.
//
// Usage: bench_creds_postgres [seconds_per_cell=10] [concurrency...=1 8 32]
// Needs the throwaway PostgreSQL (scripts/test-servers.sh start; source its env file).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "broker/core/random.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    std::fprintf(stderr, "%s is not set: run scripts/test-servers.sh start and source its env file\n", name);
    std::exit(2);
  }
  return v;
}

// One keep-alive HTTP/1.1 connection.
class http_conn {
 public:
  explicit http_conn(unsigned short port) : sock_(io_) {
    sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  int call(http::verb verb, const std::string& target, const std::string& token, const json& body, json* out) {
    http::request<http::string_body> req{verb, "/v1/" + target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set("X-Vault-Token", token);
    if (!body.is_null()) req.body() = body.dump();
    req.prepare_payload();
    http::write(sock_, req);
    http::response<http::string_body> res;
    buf_.clear();
    http::read(sock_, buf_, res);
    if (out != nullptr) *out = res.body().empty() ? json(nullptr) : json::parse(res.body(), nullptr, false);
    return static_cast<int>(res.result_int());
  }

 private:
  asio::io_context io_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
};

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

struct cell {
  double per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  std::size_t errors = 0;
  std::size_t done = 0;
  double cpu_ms_per_op = 0;  // broker cells: the broker process's user+system CPU per credential
  double machine_busy = 0;   // share of all cores busy during the cell (/proc/stat)
};

// user+system CPU seconds of a process.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// (busy, total) jiffies over all cores.
std::pair<double, double> machine_jiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double v[8] = {};
  for (double& x : v) in >> x;
  const double idle = v[3] + v[4];
  double total = 0;
  for (double x : v) total += x;
  return {total - idle, total};
}

// Runs `op` from `threads` threads for `seconds`; each thread gets its own state from `make`.
template <class Make, class Op>
cell run_cell(unsigned threads, int seconds, Make make, Op op) {
  std::vector<std::vector<double>> lat(threads);
  std::atomic<std::size_t> errors{0};
  std::atomic<bool> go{false};
  const auto until = [&] { return steady::now() + std::chrono::seconds(seconds); };
  steady::time_point end;
  std::vector<std::thread> ts;
  std::atomic<unsigned> ready{0};
  for (unsigned t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      auto state = make();
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      while (steady::now() < end) {
        const auto a = steady::now();
        if (op(state)) {
          lat[t].push_back(std::chrono::duration<double, std::milli>(steady::now() - a).count());
        } else {
          errors.fetch_add(1);
        }
      }
    });
  }
  while (ready.load() < threads) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto start = steady::now();
  end = until();
  go.store(true);
  for (auto& t : ts) t.join();
  const double elapsed = std::chrono::duration<double>(steady::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  cell c;
  c.errors = errors.load();
  c.done = all.size();
  c.per_second = static_cast<double>(all.size()) / elapsed;
  if (!all.empty()) {
    c.p50_ms = all[all.size() / 2];
    c.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return c;
}

std::string expiry_in_one_hour() {
  const std::time_t t = std::time(nullptr) + 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+0000", &tm);
  return buf;
}

void drop_roles(const std::string& conninfo, const std::string& prefix) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  const auto rows = tx.exec_params("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", prefix);
  for (const auto& r : rows) tx.exec("DROP ROLE IF EXISTS " + c.quote_name(r[0].as<std::string>()));
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  std::vector<unsigned> levels;
  for (int i = 2; i < argc; ++i) levels.push_back(static_cast<unsigned>(std::atoi(argv[i])));
  if (levels.empty()) levels = {1, 8, 32};
  const std::string host = env("CREDBROKER_TEST_PG_HOST"), port = env("CREDBROKER_TEST_PG_PORT");
  const std::string user = env("CREDBROKER_TEST_PG_USER"), password = env("CREDBROKER_TEST_PG_PASSWORD");
  const std::string db = env("CREDBROKER_TEST_PG_DATABASE");
  const std::string conninfo = "host=" + host + " port=" + port + " user=" + user + " password=" + password +
                               " dbname=" + db + " application_name=bench-raw";

  // The broker as a user runs it.
  const auto dir = std::filesystem::temp_directory_path() / ("credbroker-bench-" + credbroker::random_alnum(8));
  std::filesystem::create_directories(dir);
  const unsigned short bport = free_port();
  {
    std::ofstream cfg(dir / "config.json");
    cfg << json{{"listener", {{"tcp", {{"address", "127.0.0.1:" + std::to_string(bport)}, {"tls_disable", true}}}}},
                {"storage", {{"sqlite", {{"path", (dir / "data").string()}}}}},
                {"log_level", "info"}}
               .dump();
  }
  const pid_t broker = fork();
  if (broker == 0) {
    const std::string log = (dir / "server.log").string();
    std::freopen(log.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    execl(CREDBROKER_BIN_PATH, CREDBROKER_BIN_PATH, "server", "-config", (dir / "config.json").c_str(), nullptr);
    _exit(127);
  }
  std::unique_ptr<http_conn> admin;
  for (int i = 0; i < 200 && !admin; ++i) {
    try {
      admin = std::make_unique<http_conn>(bport);
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!admin) {
    std::fprintf(stderr, "the broker did not start (see %s)\n", (dir / "server.log").c_str());
    return 1;
  }
  json r;
  admin->call(http::verb::put, "sys/init", "", {{"secret_shares", 1}, {"secret_threshold", 1}}, &r);
  const std::string token = r["root_token"];
  admin->call(http::verb::put, "sys/unseal", "", {{"key", r["keys"][0]}}, nullptr);
  admin->call(http::verb::post, "sys/mounts/database", token, {{"type", "database"}}, nullptr);
  const std::string bprefix = "bench-b-" + credbroker::random_alnum(4) + "-";
  const std::string rprefix = "bench-r-" + credbroker::random_alnum(4) + "-";
  auto configure = [&](unsigned pool) {
    const int s = admin->call(http::verb::post, "database/config/pg", token,
                              {{"plugin_name", "postgresql-database-plugin"},
                               {"connection_url", "postgresql://{{username}}:{{password}}@" + host + ":" + port + "/" + db},
                               {"username", user}, {"password", password}, {"allowed_roles", "*"},
                               {"max_open_connections", pool}, {"username_template", bprefix + "{{random 20}}"}},
                              &r);
    if (s / 100 != 2) {
      std::fprintf(stderr, "config failed: %d %s\n", s, r.dump().c_str());
      std::exit(1);
    }
  };
  configure(4);
  admin->call(http::verb::post, "database/roles/bench", token,
              {{"db_name", "pg"}, {"default_ttl", "1h"},
               {"creation_statements", {"CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"}}},
              nullptr);

  auto measured = [&](auto&& body) {
    const double cpu0 = process_cpu_seconds(broker);
    const auto m0 = machine_jiffies();
    cell out = body();
    const auto m1 = machine_jiffies();
    out.cpu_ms_per_op = out.done ? (process_cpu_seconds(broker) - cpu0) * 1000 / static_cast<double>(out.done) : 0;
    out.machine_busy = (m1.first - m0.first) / std::max(1.0, m1.second - m0.second);
    return out;
  };
  auto raw_cell = [&](unsigned c) {
    return measured([&] { return run_cell(
        c, seconds, [&] { return std::make_unique<pqxx::connection>(conninfo); },
        [&](std::unique_ptr<pqxx::connection>& conn) {
          try {
            // Made like the broker makes them: a random name and a 20-character password.
            const std::string name = rprefix + credbroker::random_alnum(20);
            const std::string pw = credbroker::random_alnum(20);
            pqxx::work tx(*conn);
            tx.exec("CREATE ROLE " + conn->quote_name(name) + " WITH LOGIN PASSWORD " + conn->quote(pw) +
                    " VALID UNTIL " + conn->quote(expiry_in_one_hour()));
            tx.commit();
            return true;
          } catch (const std::exception&) {
            return false;
          }
        }); });
  };
  auto broker_cell = [&](unsigned c) {
    configure(c);
    return measured([&] { return run_cell(
        c, seconds, [&] { return std::make_unique<http_conn>(bport); },
        [&](std::unique_ptr<http_conn>& conn) {
          try {
            return conn->call(http::verb::get, "database/creds/bench", token, nullptr, nullptr) == 200;
          } catch (const std::exception&) {
            return false;
          }
        }); });
  };
  auto cleanup = [&] {
    admin->call(http::verb::put, "sys/leases/revoke-force/database/creds/bench", token, nullptr, nullptr);
    drop_roles(conninfo, "bench-");
  };

  std::printf("| concurrency | raw creds/s | raw p50 ms | raw p99 ms | broker creds/s | broker p50 ms | broker p99 ms | ratio | "
              "broker CPU ms/cred | cores busy raw / broker | errors |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (unsigned c : levels) {
    cell raw[2], brk[2];
    for (int round = 0; round < 2; ++round) {
      raw[round] = raw_cell(c);
      cleanup();
      brk[round] = broker_cell(c);
      cleanup();
    }
    auto mean = [](const cell* x, double cell::*f) { return (x[0].*f + x[1].*f) / 2; };
    const double rr = mean(raw, &cell::per_second), br = mean(brk, &cell::per_second);
    std::printf("| %u | %.0f | %.1f | %.1f | %.0f | %.1f | %.1f | %.2f | %.2f | %.2f / %.2f | %zu |\n", c, rr,
                mean(raw, &cell::p50_ms), mean(raw, &cell::p99_ms), br, mean(brk, &cell::p50_ms),
                mean(brk, &cell::p99_ms), br / rr, mean(brk, &cell::cpu_ms_per_op), 2 * mean(raw, &cell::machine_busy),
                2 * mean(brk, &cell::machine_busy), raw[0].errors + raw[1].errors + brk[0].errors + brk[1].errors);
    std::fflush(stdout);
  }
  kill(broker, SIGTERM);
  waitpid(broker, nullptr, 0);
  std::filesystem::remove_all(dir);
  return 0;
}
