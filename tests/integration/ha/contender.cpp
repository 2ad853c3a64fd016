// A broker-shaped HA contender for process-level tests (sigstop_test.py): a PostgreSQL backend in HA
// mode plus its leadership, stepping in a loop; while it leads it writes "<name>/<n>" one after the
// other. It prints one line per event on stdout, flushed:
//   leader <epoch> | lost <epoch> <why> | ack <key> | fail <key>
// Usage: ha_contender TABLE HA_TABLE NAME TTL_MS   (connection string in CREDBROKER_HA_CONNINFO)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "broker/ha/postgresql_leadership.hpp"

using namespace credbroker;

namespace {
std::mutex out_mu;
void say(const std::string& line) {
  std::lock_guard lock(out_mu);
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  const char* conninfo = std::getenv("CREDBROKER_HA_CONNINFO");
  if (argc != 5 || conninfo == nullptr) {
    std::fprintf(stderr, "usage: CREDBROKER_HA_CONNINFO=... ha_contender TABLE HA_TABLE NAME TTL_MS\n");
    return 2;
  }
  const std::string name = argv[3];
  storage::postgresql_options o;
  o.connection_url = secret(conninfo);
  o.table = argv[1];
  o.ha_enabled = true;
  o.ha_table = argv[2];
  auto backend = storage::postgresql_backend::open(o);
  if (!backend) {
    std::fprintf(stderr, "%s\n", backend.err().message.c_str());
    return 1;
  }
  ha::leadership_options lo;
  lo.node_id = name;
  lo.api_addr = "http://" + name + ":8200";
  lo.ttl = std::chrono::milliseconds(std::atoi(argv[4]));
  lo.acquire_wait = std::chrono::milliseconds(200);
  auto leadership = ha::postgresql_leadership::open(**backend, lo);
  if (!leadership) {
    std::fprintf(stderr, "%s\n", leadership.err().message.c_str());
    return 1;
  }
  auto& l = **leadership;
  l.on_acquired([](std::uint64_t e) { say("leader " + std::to_string(e)); });
  l.on_lost([](std::uint64_t e, const std::string& why) { say("lost " + std::to_string(e) + " " + why); });
  std::thread stepper([&l] {
    for (;;) {
      if (auto s = l.step(); !s) std::fprintf(stderr, "step: %s\n", s.err().message.c_str());
      if (l.is_leader()) std::this_thread::sleep_for(l.step_interval());
    }
  });
  for (long n = 0;; ++n) {
    if (!l.is_leader()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const std::string key = name + "/" + std::to_string(n);
    say(((*backend)->put(key, "v").ok() ? "ack " : "fail ") + key);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}
