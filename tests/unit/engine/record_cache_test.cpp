// record_cache: records are read through once, absent and damaged ones are not cached, and a read
// that raced a write never installs what it read.
#include <gtest/gtest.h>

#include <functional>
#include <utility>

#include "broker/engine/record_cache.hpp"
#include "broker/engine/record_codec.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::engine;

namespace {

// The in-memory backend, counting reads and running a hook inside each (between the storage read
// and the cache's install).
class counting_store final : public storage::physical {
 public:
  result<std::optional<std::string>> get(const std::string& key) override {
    ++gets;
    auto v = inner.get(key);
    if (during_get) std::exchange(during_get, nullptr)();
    return v;
  }
  result<std::vector<std::string>> list(const std::string& prefix) override { return inner.list(prefix); }
  status apply(std::vector<storage::operation> ops) override { return inner.apply(std::move(ops)); }
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override {
    return inner.scan(prefix, visit);
  }

  storage::inmem_backend inner;
  int gets = 0;
  std::function<void()> during_get;
};

std::string role_text(const std::string& db) {
  role r;
  r.name = "app";
  r.db_name = db;
  return role_to_json(r).dump();
}

TEST(record_cache, reads_through_once_and_not_absent_or_damaged_records) {
  counting_store store;
  record_cache<role> cache(store, "m/role/", "role", role_from_json);
  auto absent = cache.get("app");
  ASSERT_TRUE(absent);
  EXPECT_EQ(*absent, nullptr);
  ASSERT_TRUE(store.put("m/role/app", role_text("pg")));
  auto first = cache.get("app");  // absent was not cached
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->db_name, "pg");
  const int gets = store.gets;
  auto again = cache.get("app");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ(store.gets, gets);  // from the cache

  ASSERT_TRUE(store.put("m/role/bad", "{"));
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto bad = cache.get("bad");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.err().message, "stored role \"bad\" is damaged");
  }
  EXPECT_EQ(store.gets, gets + 2);  // never cached
}

TEST(record_cache, a_read_that_raced_a_write_does_not_install_what_it_read) {
  counting_store store;
  record_cache<role> cache(store, "m/role/", "role", role_from_json);
  ASSERT_TRUE(store.put("m/role/app", role_text("old")));
  // A delete lands (storage, then the cache) after the read took its value from storage.
  store.during_get = [&] {
    ASSERT_TRUE(store.inner.remove("m/role/app"));
    cache.set("app", nullptr);
  };
  auto raced = cache.get("app");
  ASSERT_TRUE(raced && *raced);
  EXPECT_EQ((*raced)->db_name, "old");  // what storage held when it was read
  auto after = cache.get("app");
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, nullptr);  // the delete's answer, not the raced read's
  // A write that lands meanwhile is kept as written.
  ASSERT_TRUE(store.put("m/role/app", role_text("old")));
  store.during_get = [&] {
    ASSERT_TRUE(store.inner.put("m/role/app", role_text("new")));
    role r;
    r.name = "app";
    r.db_name = "new";
    cache.set("app", std::make_shared<const role>(r));
  };
  ASSERT_TRUE(cache.get("app"));
  auto written = cache.get("app");
  ASSERT_TRUE(written && *written);
  EXPECT_EQ((*written)->db_name, "new");

  // clear() (the mount's data deleted) likewise.
  ASSERT_TRUE(store.put("m/role/other", role_text("x")));
  store.during_get = [&] { cache.clear(); };
  ASSERT_TRUE(cache.get("other"));
  const int gets = store.gets;
  ASSERT_TRUE(cache.get("other"));
  EXPECT_EQ(store.gets, gets + 1);  // not installed: read again
  cache.set("app", nullptr);
  auto reread = cache.get("app");  // a delete's set(null) dropped the entry: read from storage again
  ASSERT_TRUE(reread);
  EXPECT_EQ(store.gets, gets + 2);
}

}  // namespace
