// The checks of the storage conformance kit (see storage_conformance.hpp).
#include "tests/support/storage_conformance.hpp"

#include <atomic>
#include <map>
#include <thread>

#include "broker/core/random.hpp"

namespace credbroker::test {
namespace {

using storage::operation;

class barrier_over : public storage_under_test {
 public:
  explicit barrier_over(std::unique_ptr<storage_under_test> base) : base_(std::move(base)), barrier_(base_->store()) {
    const auto raw = random_bytes(32);
    EXPECT_TRUE(barrier_.initialize(secret(std::string(raw.begin(), raw.end()))).ok());
  }
  storage::physical& store() override { return barrier_; }

 private:
  std::unique_ptr<storage_under_test> base_;
  barrier::barrier barrier_;
};

std::vector<std::pair<std::string, std::string>> scan_all(storage::physical& s, const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> seen;
  EXPECT_TRUE(s.scan(prefix, [&](const std::string& k, std::string_view v) {
                 seen.emplace_back(k, std::string(v));
                 return true;
               }).ok());
  return seen;
}

}  // namespace

named_storage with_barrier(named_storage base) {
  auto make = base.make;
  return {"barrier_" + base.name, [make] { return std::make_unique<barrier_over>(make()); }};
}

TEST_P(storage_conformance, get_put_overwrite_remove) {
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

TEST_P(storage_conformance, binary_and_large_values) {
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

TEST_P(storage_conformance, very_large_values_round_trip_exactly) {
  // 8 MiB of every byte value, several in one batch: a networked backend must not truncate,
  // re-encode or split them.
  std::string huge(8 << 20, '\0');
  for (std::size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  std::vector<operation> ops;
  ops.push_back(operation::put("huge/a", huge));
  ops.push_back(operation::put("huge/b", huge.substr(1)));
  ASSERT_TRUE(s().apply(std::move(ops)).ok());
  auto a = s().get("huge/a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_TRUE(**a == huge) << "huge/a differs (size " << (*a)->size() << ")";
  auto seen = scan_all(s(), "huge/");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].second == huge.substr(1));
}

TEST_P(storage_conformance, list_one_level_table) {
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
    SCOPED_TRACE("prefix \"" + prefix + "\"");
    auto r = s().list(prefix);
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(*r, expected);
  }
}

TEST_P(storage_conformance, like_metacharacters_are_plain_bytes) {
  // % and _ match anything in SQL LIKE; here they are just bytes of a key.
  for (const char* k : {"m/100%", "m/100x", "m/a_b", "m/aXb", "m/a%/c", "m/ab/c", "m/_/d", "m/z/d"}) {
    ASSERT_TRUE(s().put(k, k).ok()) << k;
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"m/100%", {}},  // the key itself is not a child
      {"m/a_", {"b"}},
      {"m/a%", {"/"}},
      {"m/a%/", {"c"}},
      {"m/_/", {"d"}},
      {"m/%", {}},
      {"m/", {"100%", "100x", "_/", "a%/", "aXb", "a_b", "ab/", "z/"}},
  };
  for (const auto& [prefix, expected] : cases) {
    SCOPED_TRACE("prefix \"" + prefix + "\"");
    auto r = s().list(prefix);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, expected);
  }
  auto under = scan_all(s(), "m/a_");
  ASSERT_EQ(under.size(), 1u);
  EXPECT_EQ(under[0].first, "m/a_b");
  EXPECT_EQ(scan_all(s(), "m/%").size(), 0u);
  EXPECT_EQ(**s().get("m/a%/c"), "m/a%/c");
  EXPECT_FALSE(s().get("m/a_/c")->has_value());
}

TEST_P(storage_conformance, binary_looking_keys_sort_bytewise) {
  // Byte order (unsigned), whatever the database's collation: control bytes, DEL, bytes >= 0x80
  // (UTF-8 and not), uppercase before lowercase.
  const std::vector<std::string> keys = {"k/\x01", "k/\x1f/x", "k/ ", "k/A", "k/Z", "k/a", "k/z",
                                         "k/\x7f", "k/\x80", "k/\xc3\xa9", "k/\xe2\x82\xac", "k/\xfe/y",
                                         "k/\xff", "k/\xff\xff"};
  std::map<std::string, std::string> expected;
  for (std::size_t i = keys.size(); i-- > 0;) {  // written in reverse order
    ASSERT_TRUE(s().put(keys[i], "v" + std::to_string(i)).ok()) << i;
    expected[keys[i]] = "v" + std::to_string(i);
  }
  const auto seen = scan_all(s(), "k/");
  ASSERT_EQ(seen.size(), expected.size());
  std::size_t i = 0;
  for (const auto& [k, v] : expected) {
    EXPECT_EQ(seen[i].first, k) << "position " << i;
    EXPECT_EQ(seen[i].second, v);
    ++i;
  }
  auto top = s().list("k/");
  ASSERT_TRUE(top.ok());
  const std::vector<std::string> children = {"\x01", "\x1f/", " ", "A", "Z", "a", "z", "\x7f", "\x80",
                                             "\xc3\xa9", "\xe2\x82\xac", "\xfe/", "\xff", "\xff\xff"};
  EXPECT_EQ(*top, children);
  EXPECT_EQ(**s().get("k/\xff"), expected["k/\xff"]);
  auto high = scan_all(s(), "k/\xff");  // a prefix ending in 0xff has no simple upper bound
  ASSERT_EQ(high.size(), 2u);
  EXPECT_EQ(high[1].first, "k/\xff\xff");
}

TEST_P(storage_conformance, many_keys_list_and_scan) {
  // 20,000 keys in 40 folders of 500: list() returns the 40 folders, scan() every key in order.
  constexpr int folders = 40, per_folder = 500;
  for (int f = 0; f < folders; ++f) {
    std::vector<operation> ops;
    for (int i = 0; i < per_folder; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "many/%03d/%05d", f, i);
      ops.push_back(operation::put(key, std::to_string(f * per_folder + i)));
    }
    ASSERT_TRUE(s().apply(std::move(ops)).ok());
  }
  auto top = s().list("many/");
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), static_cast<std::size_t>(folders));
  EXPECT_EQ(top->front(), "000/");
  EXPECT_EQ(top->back(), "039/");
  auto one = s().list("many/017/");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), static_cast<std::size_t>(per_folder));
  int expected = 0;
  bool in_order = true;
  ASSERT_TRUE(s().scan("many/", [&](const std::string&, std::string_view v) {
                   in_order = in_order && v == std::to_string(expected);
                   ++expected;
                   return true;
                 }).ok());
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expected, folders * per_folder);
}

TEST_P(storage_conformance, batch_is_applied_in_order) {
  ASSERT_TRUE(s().put("x/old", "1").ok());
  std::vector<operation> ops;
  ops.push_back(operation::put("x/a", "A"));
  ops.push_back(operation::put("x/b", "B"));
  ops.push_back(operation::remove("x/old"));
  ops.push_back(operation::put("x/a", "A2"));
  ops.push_back(operation::put("x/c", "C"));
  ops.push_back(operation::remove("x/c"));
  ops.push_back(operation::remove("x/d"));
  ops.push_back(operation::put("x/d", "D"));
  ASSERT_TRUE(s().apply(std::move(ops)).ok());
  EXPECT_EQ(**s().get("x/a"), "A2");
  EXPECT_EQ(**s().get("x/b"), "B");
  EXPECT_FALSE(s().get("x/old")->has_value());
  EXPECT_FALSE(s().get("x/c")->has_value());
  EXPECT_EQ(**s().get("x/d"), "D");
  EXPECT_TRUE(s().apply({}).ok());
}

TEST_P(storage_conformance, lazy_writes_keep_their_place_in_line) {
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

TEST_P(storage_conformance, scan_visits_every_key_under_a_prefix_in_order) {
  for (const char* k : {"s/b/2", "s/a", "s/b/1", "sx", "t/other"}) ASSERT_TRUE(s().put(k, std::string("v-") + k).ok());
  EXPECT_EQ(scan_all(s(), "s/"), (std::vector<std::pair<std::string, std::string>>{
                                     {"s/a", "v-s/a"}, {"s/b/1", "v-s/b/1"}, {"s/b/2", "v-s/b/2"}}));
  int visits = 0;
  ASSERT_TRUE(s().scan("s/", [&](const std::string&, std::string_view) { return ++visits < 2; }).ok());
  EXPECT_EQ(visits, 2);  // stopped by the visitor
}

TEST_P(storage_conformance, concurrent_writers_and_readers) {
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

TEST_P(storage_conformance, concurrent_batches_are_atomic) {
  // 8 writers each apply 30 batches that set the 6 keys of their group to one generation (and
  // remove a marker); a reader's scans must never see a group with mixed generations.
  constexpr int writers = 8, rounds = 30, width = 6;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, failures{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::map<std::string, std::string> gen_of_group;
      if (!s().scan("cb/", [&](const std::string& k, std::string_view v) {
                 const std::string group = k.substr(0, k.rfind('/'));
                 auto [it, fresh] = gen_of_group.try_emplace(group, std::string(v));
                 if (!fresh && it->second != v) ++torn;
                 return true;
               }).ok()) {
        ++failures;
      }
    }
  });
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      for (int r = 0; r < rounds; ++r) {
        std::vector<operation> ops;
        for (int i = 0; i < width; ++i) {
          ops.push_back(operation::put("cb/" + std::to_string(w) + "/" + std::to_string(i), "gen" + std::to_string(r)));
        }
        ops.push_back(operation::remove("marker/" + std::to_string(w)));
        if (!s().apply(std::move(ops)).ok()) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  const auto all = scan_all(s(), "cb/");
  ASSERT_EQ(all.size(), static_cast<std::size_t>(writers * width));
  for (const auto& [k, v] : all) EXPECT_EQ(v, "gen" + std::to_string(rounds - 1)) << k;
}

}  // namespace credbroker::test
