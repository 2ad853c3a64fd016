// Helper for crash_test.py: concurrent durable writes through the barrier and SQLite (group commit)
// until SIGKILL; then a verifier that every acknowledged write is intact.
//
//   storage_crash_writer write DIR ROUND THREADS   prints each key after its put returned ok
//   storage_crash_writer verify DIR ACKFILE        checks every printed key; exit 0 when all are intact
//
// The root key lives in DIR/root.key for the test only (a real server never stores it).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "broker/barrier/barrier.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/sqlite_backend.hpp"

using namespace credbroker;

namespace {

std::string expected_value(const std::string& key) { return "value-of-" + key + "-" + std::string(200, '#'); }

std::unique_ptr<storage::sqlite_backend> open_store(const std::string& dir) {
  storage::sqlite_options o;
  o.path = dir + "/credbroker.db";
  auto r = storage::sqlite_backend::open(o);
  if (!r) {
    std::fprintf(stderr, "open: %s\n", r.err().message.c_str());
    std::exit(2);
  }
  return std::move(*r);
}

secret root_key(const std::string& dir, bool create) {
  const std::string path = dir + "/root.key";
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return secret(ss.str());
  }
  if (!create) {
    std::fprintf(stderr, "no root key\n");
    std::exit(2);
  }
  const auto raw = random_bytes(32);
  secret k(std::string(raw.begin(), raw.end()));
  std::ofstream(path, std::ios::binary) << k.reveal();
  return k;
}

int write_mode(const std::string& dir, const std::string& round, int threads) {
  std::filesystem::create_directories(dir);
  // A private data directory, as the broker keeps its own (a listable one is warned about on stdout,
  // which carries the acknowledgements).
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  const bool fresh = !std::filesystem::exists(dir + "/root.key");
  auto store = open_store(dir);
  barrier::barrier b(*store);
  const secret key = root_key(dir, true);
  auto s = fresh ? b.initialize(key) : b.unseal(key);
  if (!s) {
    std::fprintf(stderr, "barrier: %s\n", s.err().message.c_str());
    return 2;
  }
  std::mutex out;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const std::string k = "w/" + round + "/" + std::to_string(t) + "/" + std::to_string(i);
        if (!b.put(k, expected_value(k))) continue;
        const std::string line = k + "\n";
        std::lock_guard lock(out);
        (void)::write(1, line.data(), line.size());  // acknowledged: the put returned ok
      }
    });
  }
  for (auto& th : ts) th.join();
  return 0;
}

int verify_mode(const std::string& dir, const std::string& ackfile) {
  auto store = open_store(dir);
  barrier::barrier b(*store);
  if (auto s = b.unseal(root_key(dir, false)); !s) {
    std::fprintf(stderr, "unseal: %s\n", s.err().message.c_str());
    return 1;
  }
  std::ifstream in(ackfile);
  std::string k;
  std::size_t checked = 0, bad = 0;
  while (std::getline(in, k)) {
    if (k.empty()) continue;
    auto v = b.get(k);
    if (!v || !v->has_value() || **v != expected_value(k)) {
      if (++bad <= 10) std::fprintf(stderr, "lost or damaged: %s\n", k.c_str());
    }
    ++checked;
  }
  std::printf("checked %zu acknowledged writes, %zu lost or damaged\n", checked, bad);
  return bad == 0 && checked > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 4 && a[0] == "write") return write_mode(a[1], a[2], std::stoi(a[3]));
  if (a.size() == 3 && a[0] == "verify") return verify_mode(a[1], a[2]);
  std::fprintf(stderr, "usage: storage_crash_writer write DIR ROUND THREADS | verify DIR ACKFILE\n");
  return 2;
}
