// Issuance throughput against PostgreSQL (issue 6's goal), in one run on the same database:
//   raw     the creation transaction run directly with libpqxx: BEGIN; CREATE ROLE "<name>" WITH LOGIN
//           PASSWORD '<20 chars>' VALID UNTIL '<expiry>'; COMMIT — one connection per client thread
//   broker  GET /v1/database/creds/bench on the real credbroker binary (SQLite storage, durable leases,
//           request log on) over keep-alive HTTP connections, one per client thread; the role runs the
//           same statement, and the connection's pool has max_open_connections = the concurrency
// For each concurrency: raw, broker, raw, broker (alternating, so drift on this shared machine hits
// both), each for S seconds; creds/s, p50 and p99 latency; the ratio broker/raw of the means, the
// broker's CPU per credential and how busy the machine's cores were.
// Users are dropped between cells (not timed): the roles by SQL, then the broker's leases with revoke-force.
// BENCH_AUDIT=1 measures the audit cost instead: the broker with no audit device against the broker
// with a file audit device (every request and response written, HMACs and all), same run, alternating.
//
// BENCH_PG_SCRAM=N measures issuance with SCRAM verifiers of N iterations instead (issue 16): per
// concurrency, alternating twice,
//   raw plaintext   the raw transaction above (PostgreSQL hashes the plaintext at 4096 iterations)
//   raw verifier    the same with a verifier of N iterations computed by the client thread, as the
//                   broker does (plugins/postgres/statements.hpp scram_sha256_verifier)
//   broker          password_authentication=scram-sha-256, scram_iterations=N (the default password
//                   policy gives 117.5 bits, so N is used), driven by this process's client ...
//   broker (wrk)    ... and by wrk (an external HTTP client; apt-get install wrk)
// and the ratios broker / raw verifier and broker / raw plaintext.
//
// Usage: [BENCH_AUDIT=1 | BENCH_PG_SCRAM=N] bench_creds_postgres [seconds_per_cell=10] [concurrency...=1 8 32]
// Needs the throwaway PostgreSQL (scripts/test-servers.sh start; source its env file).
#include <ctime>

#include <pqxx/pqxx>

#include "bench/broker_driver.hpp"
#include "plugins/postgres/statements.hpp"

using namespace credbroker::bench;

namespace {

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
  broker_process broker;
  const std::string bprefix = "bench-b-" + credbroker::random_alnum(4) + "-";
  const std::string rprefix = "bench-r-" + credbroker::random_alnum(4) + "-";
  const char* scram_env = std::getenv("BENCH_PG_SCRAM");
  const int scram = scram_env != nullptr ? std::atoi(scram_env) : 0;
  auto configure = [&](unsigned pool) {
    json cfg = {{"plugin_name", "postgresql-database-plugin"},
                {"connection_url", "postgresql://{{username}}:{{password}}@" + host + ":" + port + "/" + db},
                {"username", user}, {"password", password}, {"allowed_roles", "*"},
                {"max_open_connections", pool}, {"username_template", bprefix + "{{random 20}}"}};
    if (scram > 0) {
      cfg["password_authentication"] = "scram-sha-256";
      cfg["scram_iterations"] = scram;
    }
    broker.must(http::verb::post, "database/config/pg", cfg);
  };
  configure(4);
  broker.must(http::verb::post, "database/roles/bench",
              {{"db_name", "pg"}, {"default_ttl", "1h"},
               {"creation_statements", {"CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"}}});

  // iterations 0: the plaintext; else a client-computed verifier of that many iterations.
  auto raw_cell_with = [&](unsigned c, int iterations) {
    return measured(broker.pid(), [&] {
      return run_cell(
          c, seconds, [&] { return std::make_unique<pqxx::connection>(conninfo); },
          [&](std::unique_ptr<pqxx::connection>& conn) {
            try {
              // Made like the broker makes them: a random name and a 20-character password.
              const std::string name = rprefix + credbroker::random_alnum(20);
              std::string pw = credbroker::random_alnum(20);
              if (iterations > 0) {
                const auto salt = credbroker::random_bytes(16);
                pw = credbroker::plugins::postgres::scram_sha256_verifier(
                    pw, std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()), iterations);
              }
              pqxx::work tx(*conn);
              tx.exec("CREATE ROLE " + conn->quote_name(name) + " WITH LOGIN PASSWORD " + conn->quote(pw) +
                      " VALID UNTIL " + conn->quote(expiry_in_one_hour()));
              tx.commit();
              return true;
            } catch (const std::exception&) {
              return false;
            }
          });
    });
  };
  auto raw_cell = [&](unsigned c) { return raw_cell_with(c, 0); };
  auto broker_cell = [&](unsigned c) {
    configure(c);
    return broker_creds_cell(broker, c, seconds, "bench");
  };
  auto cleanup = [&] {
    // The roles first, in one session: the revocations then find them gone (one probe each) instead
    // of running the default revocation's statements thousands of times.
    drop_roles(conninfo, "bench-");
    broker.must(http::verb::put, "sys/leases/revoke-force/database/creds/bench", nullptr);
  };

  if (const char* a = std::getenv("BENCH_AUDIT"); a != nullptr && std::string(a) == "1") {
    run_audit_table(broker, levels, broker_cell, cleanup);
    return 0;
  }
  if (scram > 0) {
    std::printf("PostgreSQL, SCRAM verifiers of %d iterations (broker: scram_iterations=%d)\n", scram, scram);
    run_verifier_table(
        levels, raw_cell, [&](unsigned c) { return raw_cell_with(c, scram); }, broker_cell,
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
