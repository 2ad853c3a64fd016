#pragma once
// Shared by the issuance benchmarks (creds_postgres.cpp, creds_redis.cpp): a keep-alive HTTP client,
// timed cells run from N threads with latency percentiles, CPU accounting of a process and of the
// machine, and the real credbroker binary started with SQLite storage, initialised and unsealed.
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
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "broker/core/random.hpp"

namespace credbroker::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using steady = std::chrono::steady_clock;

inline std::string env(const char* name) {
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

inline unsigned short free_port() {
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
inline double process_cpu_seconds(pid_t pid) {
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
inline std::pair<double, double> machine_jiffies() {
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


// Wraps a cell with the CPU used by `pid` and by the whole machine meanwhile.
template <class Body>
cell measured(pid_t pid, Body&& body) {
  const double cpu0 = process_cpu_seconds(pid);
  const auto m0 = machine_jiffies();
  cell out = body();
  const auto m1 = machine_jiffies();
  out.cpu_ms_per_op = out.done ? (process_cpu_seconds(pid) - cpu0) * 1000 / static_cast<double>(out.done) : 0;
  out.machine_busy = (m1.first - m0.first) / std::max(1.0, m1.second - m0.second);
  return out;
}

// The credbroker binary (CREDBROKER_BIN_PATH) with SQLite storage in a temporary directory, its
// request log on, initialised with one key share and unsealed; stopped (SIGTERM) when destroyed.
class broker_process {
 public:
  broker_process() {
    dir_ = std::filesystem::temp_directory_path() / ("credbroker-bench-" + random_alnum(8));
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    {
      json cfg = {{"listener", {{"tcp", {{"address", "127.0.0.1:" + std::to_string(port_)}, {"tls_disable", true}}}}},
                  {"storage", {{"sqlite", {{"path", (dir_ / "data").string()}}}}},
                  {"log_level", "info"}};
      // BENCH_WORKERS=n sets worker_threads (default: the server's, 64).
      if (const char* w = std::getenv("BENCH_WORKERS"); w != nullptr && *w != '\0') cfg["worker_threads"] = std::atoi(w);
      std::ofstream(dir_ / "config.json") << cfg.dump();
    }
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = (dir_ / "server.log").string();
      if (std::freopen(log.c_str(), "w", stderr) == nullptr || std::freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
      execl(CREDBROKER_BIN_PATH, CREDBROKER_BIN_PATH, "server", "-config", (dir_ / "config.json").c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !admin_; ++i) {
      try {
        admin_ = std::make_unique<http_conn>(port_);
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (!admin_) {
      std::fprintf(stderr, "the broker did not start (see %s)\n", (dir_ / "server.log").c_str());
      std::exit(1);
    }
    json r;
    admin_->call(http::verb::put, "sys/init", "", {{"secret_shares", 1}, {"secret_threshold", 1}}, &r);
    token_ = r["root_token"];
    admin_->call(http::verb::put, "sys/unseal", "", {{"key", r["keys"][0]}}, nullptr);
    admin_->call(http::verb::post, "sys/mounts/database", token_, {{"type", "database"}}, nullptr);
  }
  ~broker_process() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::filesystem::remove_all(dir_);
  }
  // An admin call with the root token; exits the benchmark on an error status.
  json must(http::verb verb, const std::string& path, const json& body) {
    json r;
    const int s = admin_->call(verb, path, token_, body, &r);
    if (s / 100 != 2) {
      std::fprintf(stderr, "%s failed: %d %s\n", path.c_str(), s, r.dump().c_str());
      std::exit(1);
    }
    return r;
  }
  pid_t pid() const { return pid_; }
  unsigned short port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::filesystem::path& dir() const { return dir_; }

  // A file audit device at sys/audit/file writing to <dir>/audit.log (the whole entry of every
  // request and response, HMACs included), or none.
  void enable_file_audit() {
    must(http::verb::put, "sys/audit/file", {{"type", "file"}, {"options", {{"file_path", (dir_ / "audit.log").string()}}}});
  }
  void disable_audit() { must(http::verb::delete_, "sys/audit/file", nullptr); }

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<http_conn> admin_;
  std::string token_;
};

// One GET /v1/database/creds/<role> per call on a keep-alive connection; false on any failure.
inline bool issue_over_http(http_conn& conn, const std::string& role, const std::string& token) {
  try {
    return conn.call(http::verb::get, "database/creds/" + role, token, nullptr, nullptr) == 200;
  } catch (const std::exception&) {
    return false;
  }
}

// A cell of `c` clients, each on its own keep-alive connection, issuing creds of `role` for `seconds`;
// the broker's CPU is measured over it.
inline cell broker_creds_cell(broker_process& broker, unsigned c, int seconds, const std::string& role) {
  return measured(broker.pid(), [&] {
    return run_cell(
        c, seconds, [&] { return std::make_unique<http_conn>(broker.port()); },
        [&](std::unique_ptr<http_conn>& conn) { return issue_over_http(*conn, role, broker.token()); });
  });
}

// The same load from wrk, an HTTP client outside this process (apt-get install wrk): `c` keep-alive
// connections on 2 threads for `seconds`, the broker's CPU measured over it. Rate, p50 and p99 from
// wrk's --latency report; errors: non-2xx answers and socket errors. Exits if wrk is missing.
inline cell wrk_cell(broker_process& broker, unsigned c, int seconds, const std::string& path) {
  const auto script = broker.dir() / "wrk.lua";
  std::ofstream(script) << "wrk.method = \"GET\"\nwrk.headers[\"X-Vault-Token\"] = \"" << broker.token() << "\"\n";
  const auto out = broker.dir() / "wrk.out";
  const std::string cmd = "wrk --latency -t " + std::to_string(std::min(2u, c)) + " -c " + std::to_string(c) + " -d " +
                          std::to_string(seconds) + "s -s " + script.string() + " http://127.0.0.1:" +
                          std::to_string(broker.port()) + "/v1/" + path + " > " + out.string() + " 2>&1";
  cell result = measured(broker.pid(), [&] {
    cell w;
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "wrk failed (is it installed? apt-get install wrk); see %s\n", out.c_str());
      std::exit(1);
    }
    std::ifstream in(out);
    std::string line;
    auto ms = [](const std::string& v) {  // "1.23ms", "812.00us", "1.02s"
      const double x = std::stod(v);
      if (v.find("us") != std::string::npos) return x / 1000;
      if (v.find("ms") != std::string::npos) return x;
      return x * 1000;
    };
    double total = 0;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string a, b;
      f >> a >> b;
      if (a == "Requests/sec:") w.per_second = std::stod(b);
      if (a == "50%") w.p50_ms = ms(b);
      if (a == "99%") w.p99_ms = ms(b);
      if (line.find("requests in") != std::string::npos) total = std::stod(a);
      if (a == "Non-2xx") w.errors += std::stoul(line.substr(line.rfind(' ') + 1));
      if (a == "Socket") {  // "Socket errors: connect 0, read 0, write 0, timeout 0"
        for (char& ch : line) {
          if (ch == ',') ch = ' ';
        }
        std::istringstream e(line.substr(line.find(':') + 1));
        std::string kind;
        std::size_t n = 0;
        while (e >> kind >> n) w.errors += n;
      }
    }
    w.done = static_cast<std::size_t>(total) - std::min(w.errors, static_cast<std::size_t>(total));
    return w;
  });
  return result;
}

// One row of the results table (means of the rounds).
inline void print_header() {
  std::printf("| concurrency | raw creds/s | raw p50 ms | raw p99 ms | broker creds/s | broker p50 ms | broker p99 ms | ratio | "
              "broker CPU ms/cred | cores busy raw / broker | errors |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

inline void print_row(unsigned c, const std::vector<cell>& raw, const std::vector<cell>& brk) {
  auto mean = [](const std::vector<cell>& x, double cell::*f) {
    double sum = 0;
    for (const auto& e : x) sum += e.*f;
    return sum / static_cast<double>(x.size());
  };
  std::size_t errors = 0;
  for (const auto& e : raw) errors += e.errors;
  for (const auto& e : brk) errors += e.errors;
  const double rr = mean(raw, &cell::per_second), br = mean(brk, &cell::per_second);
  std::printf("| %u | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %.3f | %.2f / %.2f | %zu |\n", c, rr,
              mean(raw, &cell::p50_ms), mean(raw, &cell::p99_ms), br, mean(brk, &cell::p50_ms), mean(brk, &cell::p99_ms),
              br / rr, mean(brk, &cell::cpu_ms_per_op), 2 * mean(raw, &cell::machine_busy), 2 * mean(brk, &cell::machine_busy),
              errors);
  std::fflush(stdout);
}

// The table: for each concurrency, raw and broker cells alternating twice (drift on a shared machine
// hits both), each followed by cleanup() (not timed).
template <class Raw, class Broker, class Cleanup>
void run_table(const std::vector<unsigned>& levels, Raw raw_cell, Broker broker_cell, Cleanup cleanup) {
  print_header();
  for (unsigned c : levels) {
    std::vector<cell> raw, brk;
    for (int round = 0; round < 2; ++round) {
      raw.push_back(raw_cell(c));
      cleanup();
      brk.push_back(broker_cell(c));
      cleanup();
    }
    print_row(c, raw, brk);
  }
}

inline double mean_of(const std::vector<cell>& x, double cell::*f) {
  double sum = 0;
  for (const auto& e : x) sum += e.*f;
  return x.empty() ? 0 : sum / static_cast<double>(x.size());
}

// Two raw baselines and the broker driven by two clients (this process's and wrk), alternating
// twice per concurrency, each cell followed by cleanup(); the ratios use the broker's cells from
// this process's client and from wrk separately.
template <class Raw, class RawSame, class Broker, class Wrk, class Cleanup>
void run_verifier_table(const std::vector<unsigned>& levels, Raw raw_plain, RawSame raw_same, Broker broker_cell,
                        Wrk wrk, Cleanup cleanup) {
  std::printf("| concurrency | raw plaintext creds/s | raw same verifier creds/s | broker creds/s (p50 / p99 ms) | "
              "broker via wrk creds/s (p50 / p99 ms) | broker / raw same | wrk / raw same | broker / raw plaintext | "
              "wrk / raw plaintext | broker CPU ms/cred (client / wrk) | errors |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (unsigned c : levels) {
    std::vector<cell> plain, same, brk, w;
    for (int round = 0; round < 2; ++round) {
      plain.push_back(raw_plain(c));
      cleanup();
      same.push_back(raw_same(c));
      cleanup();
      brk.push_back(broker_cell(c));
      cleanup();
      w.push_back(wrk(c));
      cleanup();
    }
    std::size_t errors = 0;
    for (const auto* v : {&plain, &same, &brk, &w}) {
      for (const auto& e : *v) errors += e.errors;
    }
    const double rp = mean_of(plain, &cell::per_second), rs = mean_of(same, &cell::per_second);
    const double b = mean_of(brk, &cell::per_second), bw = mean_of(w, &cell::per_second);
    std::printf("| %u | %.0f | %.0f | %.0f (%.2f / %.2f) | %.0f (%.2f / %.2f) | %.2f | %.2f | %.1f | %.1f | %.3f / %.3f | %zu |\n",
                c, rp, rs, b, mean_of(brk, &cell::p50_ms), mean_of(brk, &cell::p99_ms), bw, mean_of(w, &cell::p50_ms),
                mean_of(w, &cell::p99_ms), b / rs, bw / rs, b / rp, bw / rp, mean_of(brk, &cell::cpu_ms_per_op),
                mean_of(w, &cell::cpu_ms_per_op), errors);
    std::fflush(stdout);
  }
}

// Raw, the broker driven by this process's client and by wrk, alternating twice per concurrency.
template <class Raw, class Broker, class Wrk, class Cleanup>
void run_wrk_table(const std::vector<unsigned>& levels, Raw raw_cell, Broker broker_cell, Wrk wrk, Cleanup cleanup) {
  std::printf("| concurrency | raw creds/s | broker creds/s (p50 / p99 ms) | broker via wrk creds/s (p50 / p99 ms) | "
              "broker / raw | wrk / raw | broker CPU µs/cred (client / wrk) | cores busy raw / broker / wrk | errors |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (unsigned c : levels) {
    std::vector<cell> raw, brk, w;
    for (int round = 0; round < 2; ++round) {
      raw.push_back(raw_cell(c));
      cleanup();
      brk.push_back(broker_cell(c));
      cleanup();
      w.push_back(wrk(c));
      cleanup();
    }
    std::size_t errors = 0;
    for (const auto* v : {&raw, &brk, &w}) {
      for (const auto& e : *v) errors += e.errors;
    }
    const double r = mean_of(raw, &cell::per_second), b = mean_of(brk, &cell::per_second), bw = mean_of(w, &cell::per_second);
    std::printf("| %u | %.0f | %.0f (%.2f / %.2f) | %.0f (%.2f / %.2f) | %.2f | %.2f | %.0f / %.0f | %.2f / %.2f / %.2f | %zu |\n",
                c, r, b, mean_of(brk, &cell::p50_ms), mean_of(brk, &cell::p99_ms), bw, mean_of(w, &cell::p50_ms),
                mean_of(w, &cell::p99_ms), b / r, bw / r, 1000 * mean_of(brk, &cell::cpu_ms_per_op),
                1000 * mean_of(w, &cell::cpu_ms_per_op), 2 * mean_of(raw, &cell::machine_busy),
                2 * mean_of(brk, &cell::machine_busy), 2 * mean_of(w, &cell::machine_busy), errors);
    std::fflush(stdout);
  }
}

// The audit table (BENCH_AUDIT=1): for each concurrency, issuance with no audit device and with a
// file device, alternating twice in the same run; the ratio is with / without (goal >= 0.9).
template <class Cell, class Cleanup>
void run_audit_table(broker_process& broker, const std::vector<unsigned>& levels, Cell broker_cell, Cleanup cleanup) {
  std::printf("| concurrency | no audit creds/s | p50 ms | p99 ms | file audit creds/s | p50 ms | p99 ms | ratio | "
              "CPU ms/cred off / on | audit log bytes/cred | errors |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const auto log = broker.dir() / "audit.log";
  for (unsigned c : levels) {
    std::vector<cell> off, on;
    double bytes = 0, creds = 0;
    for (int round = 0; round < 2; ++round) {
      off.push_back(broker_cell(c));
      cleanup();
      broker.enable_file_audit();
      const auto before = std::filesystem::file_size(log);
      on.push_back(broker_cell(c));
      bytes += static_cast<double>(std::filesystem::file_size(log) - before);
      creds += static_cast<double>(on.back().done);
      broker.disable_audit();
      cleanup();
    }
    auto mean = [](const std::vector<cell>& x, double cell::*f) {
      double sum = 0;
      for (const auto& e : x) sum += e.*f;
      return sum / static_cast<double>(x.size());
    };
    std::size_t errors = 0;
    for (const auto& e : off) errors += e.errors;
    for (const auto& e : on) errors += e.errors;
    const double r_off = mean(off, &cell::per_second), r_on = mean(on, &cell::per_second);
    std::printf("| %u | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %.3f / %.3f | %.0f | %zu |\n", c, r_off,
                mean(off, &cell::p50_ms), mean(off, &cell::p99_ms), r_on, mean(on, &cell::p50_ms),
                mean(on, &cell::p99_ms), r_on / r_off, mean(off, &cell::cpu_ms_per_op), mean(on, &cell::cpu_ms_per_op),
                creds > 0 ? bytes / creds : 0, errors);
    std::fflush(stdout);
  }
}

}  // namespace credbroker::bench
