// Issuance throughput against Redis (issue 7's goal), in one run on the same server:
//   raw     ACL SETUSER <name> on #<sha256 of 20 chars> ~* +@read with hiredis, one connection per client
//           thread (the hashed form the broker sends; the client hashes, as the broker does)
//   broker  GET /v1/database/creds/bench on the real credbroker binary (SQLite storage: every lease is
//           durable before its user exists; request log on) over keep-alive HTTP, one connection per
//           client thread; the role's rules are the same; max_open_connections = the concurrency
// Optionally (BENCH_REDIS_REPLICA=1) the broker's connection also writes every user to the replica.
// BENCH_AUDIT=1 measures the audit cost instead: the broker with no audit device against the broker
// with a file audit device (every request and response written, HMACs and all), same run, alternating.
// For each concurrency: raw, broker, raw, broker, each for S seconds; creds/s, p50, p99, the ratio,
// the broker's CPU per credential and how busy the machine was. Users are dropped between cells.
//
// BENCH_WRK=1 adds the broker driven by wrk (an external HTTP client; apt-get install wrk) to each
// concurrency, alternating with the other two cells.
//
// Usage: [BENCH_AUDIT=1 | BENCH_WRK=1] bench_creds_redis [seconds_per_cell=10] [concurrency...=1 8 64]
// Needs the throwaway Redis (scripts/test-servers.sh start; source its env file).
#include <hiredis/hiredis.h>

#include "bench/broker_driver.hpp"
#include "plugins/redis/parsers.hpp"

using namespace credbroker::bench;

namespace {

struct redis_conn {
  redisContext* c = nullptr;
  redis_conn(const std::string& host, int port, const std::string& user, const std::string& password) {
    c = redisConnect(host.c_str(), port);
    if (c == nullptr || c->err) throw std::runtime_error("cannot connect to redis");
    auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s %s", user.c_str(), password.c_str()));
    const bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) throw std::runtime_error("redis AUTH failed");
  }
  ~redis_conn() { redisFree(c); }
  bool argv(const std::vector<std::string>& a) {
    std::vector<const char*> p;
    std::vector<std::size_t> l;
    for (const auto& s : a) {
      p.push_back(s.data());
      l.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(p.size()), p.data(), l.data()));
    const bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return ok;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  std::vector<unsigned> levels;
  for (int i = 2; i < argc; ++i) levels.push_back(static_cast<unsigned>(std::atoi(argv[i])));
  if (levels.empty()) levels = {1, 8, 64};
  const std::string host = env("CREDBROKER_TEST_REDIS_HOST");
  const int port = std::stoi(env("CREDBROKER_TEST_REDIS_PORT"));
  const std::string user = env("CREDBROKER_TEST_REDIS_USER"), password = env("CREDBROKER_TEST_REDIS_PASSWORD");
  const char* with_replica = std::getenv("BENCH_REDIS_REPLICA");
  const bool replica = with_replica != nullptr && std::string(with_replica) == "1";
  broker_process broker;
  const std::string bprefix = "BENCHB" + credbroker::random_alnum(4) + "_";
  const std::string rprefix = "BENCHR" + credbroker::random_alnum(4) + "_";
  auto configure = [&](unsigned pool) {
    json cfg = {{"plugin_name", "redis-database-plugin"}, {"host", host}, {"port", port}, {"username", user},
                {"password", password}, {"allowed_roles", "*"}, {"max_open_connections", pool},
                {"username_template", bprefix + "{{random 20}}"}};
    if (replica) cfg["replicas"] = {host + ":" + env("CREDBROKER_TEST_REDIS_REPLICA_PORT")};
    broker.must(http::verb::post, "database/config/redis", cfg);
  };
  configure(8);
  broker.must(http::verb::post, "database/roles/bench",
              {{"db_name", "redis"}, {"default_ttl", "1h"}, {"creation_statements", {R"(["~*", "+@read"])"}}});

  auto make_raw = [&] { return std::make_unique<redis_conn>(host, port, user, password); };
  auto raw_cell = [&](unsigned c) {
    return measured(broker.pid(), [&] {
      return run_cell(c, seconds, make_raw, [&](std::unique_ptr<redis_conn>& conn) {
        return conn->argv({"ACL", "SETUSER", rprefix + credbroker::random_alnum(20), "on",
                           credbroker::plugins::redis::acl_password(credbroker::random_alnum(20)), "~*", "+@read"});
      });
    });
  };
  auto broker_cell = [&](unsigned c) {
    configure(c);
    return broker_creds_cell(broker, c, seconds, "bench");
  };
  auto cleanup = [&] {
    broker.must(http::verb::put, "sys/leases/revoke-force/database/creds/bench", nullptr);
    std::vector<int> ports{port};
    if (replica) ports.push_back(std::stoi(env("CREDBROKER_TEST_REDIS_REPLICA_PORT")));
    for (int p : ports) {
      redis_conn admin(host, p, user, password);
      auto* r = static_cast<redisReply*>(redisCommand(admin.c, "ACL USERS"));
      std::vector<std::string> names;
      for (std::size_t i = 0; r != nullptr && i < r->elements; ++i) {
        const std::string n(r->element[i]->str, r->element[i]->len);
        if (n.rfind("BENCH", 0) == 0) names.push_back(n);
      }
      if (r) freeReplyObject(r);
      for (std::size_t i = 0; i < names.size(); i += 500) {
        std::vector<std::string> cmd{"ACL", "DELUSER"};
        for (std::size_t j = i; j < std::min(names.size(), i + 500); ++j) cmd.push_back(names[j]);
        admin.argv(cmd);
      }
    }
  };

  std::printf("Redis%s\n", replica ? " (primary + replica: every broker credential written to both)" : "");
  if (const char* a = std::getenv("BENCH_AUDIT"); a != nullptr && std::string(a) == "1") {
    run_audit_table(broker, levels, broker_cell, cleanup);
    return 0;
  }
  if (const char* w = std::getenv("BENCH_WRK"); w != nullptr && std::string(w) == "1") {
    run_wrk_table(
        levels, raw_cell, broker_cell,
        [&](unsigned c) {
          configure(c);
          return wrk_cell(broker, c, seconds, "database/creds/bench");
        },
        cleanup);
    return 0;
  }
  run_table(levels, raw_cell, broker_cell, cleanup);
  return 0;
}
