// One conformance suite for every storage backend: in-memory, SQLite, and the barrier over each.
// A new backend (PostgreSQL later) gets the same checks by adding one factory below.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "broker/barrier/barrier.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/sqlite_backend.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

std::string temp_db() {
  const auto dir = std::filesystem::temp_directory_path() / ("credbroker-test-" + random_alnum(12));
  return (dir / "credbroker.db").string();
}

// Owns whatever a backend under test needs.
struct backend_under_test {
  std::unique_ptr<physical> base;
  std::unique_ptr<barrier::barrier> encrypted;
  std::string path;
  physical& get() { return encrypted ? static_cast<physical&>(*encrypted) : *base; }
  ~backend_under_test() {
    encrypted.reset();
    base.reset();
    if (!path.empty()) std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  }
};

using factory = std::function<std::unique_ptr<backend_under_test>()>;

std::unique_ptr<backend_under_test> make_sqlite_base() {
  auto b = std::make_unique<backend_under_test>();
  b->path = temp_db();
  sqlite_options o;
  o.path = b->path;
  auto opened = sqlite_backend::open(o);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().message);
  b->base = std::move(*opened);
  return b;
}

void add_barrier(backend_under_test& b) {
  b.encrypted = std::make_unique<barrier::barrier>(*b.base);
  const auto raw = random_bytes(32);
  EXPECT_TRUE(b.encrypted->initialize(secret(std::string(raw.begin(), raw.end()))).ok());
}

struct named_factory {
  std::string name;
  factory make;
};

std::vector<named_factory> factories() {
  return {
      {"inmem", [] {
         auto b = std::make_unique<backend_under_test>();
         b->base = std::make_unique<inmem_backend>();
         return b;
       }},
      {"sqlite", make_sqlite_base},
      {"barrier_inmem", [] {
         auto b = std::make_unique<backend_under_test>();
         b->base = std::make_unique<inmem_backend>();
         add_barrier(*b);
         return b;
       }},
      {"barrier_sqlite", [] {
         auto b = make_sqlite_base();
         add_barrier(*b);
         return b;
       }},
  };
}

void PrintTo(const named_factory& f, std::ostream* os) { *os << f.name; }

class conformance : public ::testing::TestWithParam<named_factory> {
 protected:
  void SetUp() override { b_ = GetParam().make(); }
  physical& s() { return b_->get(); }
  std::unique_ptr<backend_under_test> b_;
};

TEST_P(conformance, get_put_overwrite_remove) {
  auto missing = s().get("a/b");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(s().put("a/b", "one").ok());
  EXPECT_EQ(**s().get("a/b"), "one");
  ASSERT_TRUE(s().put("a/b", "two").ok());
  EXPECT_EQ(**s().get("a/b"), "two");
  ASSERT_TRUE(s().remove("a/b").ok());
  EXPECT_FALSE(s().get("a/b")->has_value());
  EXPECT_TRUE(s().remove("a/b").ok());  // idempotent
  EXPECT_TRUE(s().remove("never/there").ok());
}

TEST_P(conformance, binary_and_large_values) {
  std::string bin("\0\x01\xff\x00zz", 6);
  ASSERT_TRUE(s().put("bin", bin).ok());
  EXPECT_EQ(**s().get("bin"), bin);
  std::string empty;
  ASSERT_TRUE(s().put("empty", empty).ok());
  ASSERT_TRUE(s().get("empty")->has_value());
  EXPECT_EQ(**s().get("empty"), "");
  const std::string big(1 << 20, 'x');
  ASSERT_TRUE(s().put("big", big).ok());
  EXPECT_EQ(**s().get("big"), big);
}

TEST_P(conformance, list_one_level_table) {
  // Under "t/": the barrier keeps its own keyring at "core/keyring".
  for (const char* k : {"t/a", "t/b/c", "t/b/d/e", "t/b/d/f", "t/b/g", "t/bz", "t/c/x/y/z"}) {
    ASSERT_TRUE(s().put(k, "v").ok()) << k;
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"t/", {"a", "b/", "bz", "c/"}},
      {"t/b/", {"c", "d/", "g"}},
      {"t/b/d/", {"e", "f"}},
      {"t/c/", {"x/"}},
      {"t/c/x/y/", {"z"}},
      {"t/nothing/", {}},
      {"t/b", {"/", "z"}},
  };
  for (const auto& [prefix, expected] : cases) {
    auto r = s().list(prefix);
    ASSERT_TRUE(r.ok()) << prefix;
    EXPECT_EQ(*r, expected) << "prefix \"" << prefix << "\"";
  }
}

TEST_P(conformance, batch_is_applied_in_order) {
  ASSERT_TRUE(s().put("x/old", "1").ok());
  std::vector<operation> ops;
  ops.push_back(operation::put("x/a", "A"));
  ops.push_back(operation::put("x/b", "B"));
  ops.push_back(operation::remove("x/old"));
  ops.push_back(operation::put("x/a", "A2"));
  ASSERT_TRUE(s().apply(std::move(ops)).ok());
  EXPECT_EQ(**s().get("x/a"), "A2");
  EXPECT_EQ(**s().get("x/b"), "B");
  EXPECT_FALSE(s().get("x/old")->has_value());
  EXPECT_TRUE(s().apply({}).ok());
}

TEST_P(conformance, lazy_writes_keep_their_place_in_line) {
  auto& st = s();
  // A lazy write is ordered with the writes around it: once a later durable write returned, it is
  // visible, and a lazy put followed by a remove ends removed.
  for (int i = 0; i < 50; ++i) {
    std::vector<operation> ops;
    ops.push_back(operation::put("lazy/" + std::to_string(i), "v" + std::to_string(i)));
    st.apply_lazy(std::move(ops));
  }
  std::vector<operation> gone;
  gone.push_back(operation::remove("lazy/7"));
  st.apply_lazy(std::move(gone));
  ASSERT_TRUE(st.put("after", "x"));
  EXPECT_EQ(*st.get("lazy/49"), std::optional<std::string>("v49"));
  EXPECT_EQ(*st.get("lazy/7"), std::nullopt);
  EXPECT_EQ(st.list("lazy/")->size(), 49u);
}

TEST_P(conformance, scan_visits_every_key_under_a_prefix_in_order) {
  for (const char* k : {"s/b/2", "s/a", "s/b/1", "sx", "t/other"}) ASSERT_TRUE(s().put(k, std::string("v-") + k).ok());
  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE(s().scan("s/", [&](const std::string& k, std::string_view v) {
                   seen.emplace_back(k, std::string(v));
                   return true;
                 }).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {"s/a", "v-s/a"}, {"s/b/1", "v-s/b/1"}, {"s/b/2", "v-s/b/2"}}));
  int visits = 0;
  ASSERT_TRUE(s().scan("s/", [&](const std::string&, std::string_view) { return ++visits < 2; }).ok());
  EXPECT_EQ(visits, 2);  // stopped by the visitor
}

TEST_P(conformance, concurrent_writers_and_readers) {
  constexpr int threads = 32, per_thread = 40;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string key = "c/" + std::to_string(t) + "/" + std::to_string(i);
        if (!s().put(key, "v" + key).ok()) ++failures;
        auto back = s().get(key);
        if (!back.ok() || !back->has_value() || **back != "v" + key) ++failures;
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto top = s().list("c/");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->size(), static_cast<std::size_t>(threads));
  auto one = s().list("c/7/");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), static_cast<std::size_t>(per_thread));
}

INSTANTIATE_TEST_SUITE_P(backends, conformance, ::testing::ValuesIn(factories()),
                         [](const ::testing::TestParamInfo<named_factory>& p) { return p.param.name; });

}  // namespace
