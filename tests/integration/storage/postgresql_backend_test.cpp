// The PostgreSQL store on the real server: the storage conformance kit (bare and under the
// barrier), then what only a networked store has: the schema created once by nodes starting at once,
// a foreign table refused, an unreachable server, sessions killed during operation, a batch whose
// outcome is unknown, one refused write among concurrent ones, and group commit.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/pg_storage.hpp"
#include "tests/support/storage_conformance.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

// A backend on a table of its own, dropped afterwards.
class pg_under_test : public test::storage_under_test {
 public:
  pg_under_test() : table_(test::fresh_name("kit")) {
    auto opened = postgresql_backend::open(test::pg_options(table_));
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().message);
    if (opened) b_ = std::move(*opened);
  }
  ~pg_under_test() override {
    b_.reset();
    test::admin_sql("DROP TABLE IF EXISTS " + table_);
  }
  physical& store() override { return *b_; }

 private:
  std::string table_;
  std::unique_ptr<postgresql_backend> b_;
};

std::vector<test::named_storage> backends() {
  const test::named_storage pg{"postgresql", [] { return std::make_unique<pg_under_test>(); }};
  return {pg, test::with_barrier(pg)};
}

class postgresql_backend_test : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = test::fresh_name("pgb");
    app_ = test::fresh_name("cbtest");
  }
  void TearDown() override {
    test::admin_sql("DROP TABLE IF EXISTS " + table_);
    for (const auto& sql : cleanup_) test::admin_sql(sql);
  }
  std::unique_ptr<postgresql_backend> open(postgresql_options o) {
    auto r = postgresql_backend::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<postgresql_backend> open() { return open(test::pg_options(table_, app_)); }

  test::pg_server server_;
  std::string table_, app_;
  std::vector<std::string> cleanup_;
};

TEST_F(postgresql_backend_test, nodes_starting_at_once_create_the_schema_once) {
  constexpr int nodes = 8;
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(nodes);
  for (int i = 0; i < nodes; ++i) {
    ts.emplace_back([&, i] {
      auto r = postgresql_backend::open(test::pg_options(table_));
      if (r) {
        ++ok;
      } else {
        errors[i] = r.err().message;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), nodes) << errors[0];
  auto cols = test::admin_sql("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '" +
                              table_ + "' ORDER BY ordinal_position");
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0][0].as<std::string>(), "key");
  EXPECT_EQ(cols[0][1].as<std::string>(), "bytea");
  EXPECT_EQ(cols[1][0].as<std::string>(), "value");
  // Opening again is a check only: the data stays.
  {
    auto b = open();
    ASSERT_TRUE(b->put("kept", "v").ok());
  }
  auto again = open();
  EXPECT_EQ(**again->get("kept"), "v");
}

TEST_F(postgresql_backend_test, a_table_of_another_shape_is_refused) {
  test::admin_sql("CREATE TABLE " + table_ + " (key text PRIMARY KEY, value text)");
  auto r = postgresql_backend::open(test::pg_options(table_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, make_error_code(errc::storage_failure));
  EXPECT_NE(r.err().message.find("PostgreSQL at " + server_.server_name()), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("not a credbroker storage table"), std::string::npos) << r.err().message;
}

TEST_F(postgresql_backend_test, schema_qualified_tables_and_a_role_that_owns_only_its_schema) {
  const std::string role = test::fresh_name("cbrole"), password = random_alnum(24), schema = test::fresh_name("cbschema");
  test::admin_sql("CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'");
  test::admin_sql("CREATE SCHEMA " + schema + " AUTHORIZATION " + role);
  cleanup_ = {"DROP SCHEMA " + schema + " CASCADE", "DROP ROLE " + role};
  auto o = test::pg_options(schema + ".kv");
  o.connection_url = secret(server_.conninfo(role, password));
  auto b = open(o);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->put("a/b", "v").ok());
  EXPECT_EQ(*b->list("a/"), std::vector<std::string>{"b"});
  EXPECT_EQ(test::admin_sql("SELECT count(*) FROM " + schema + ".kv")[0][0].as<int>(), 1);
}

TEST_F(postgresql_backend_test, an_unreachable_server_fails_open_naming_it_without_the_password) {
  postgresql_options o;
  o.connection_url = secret("postgresql://credbroker:TopSecret99@127.0.0.1:1/credbroker");
  o.connect_timeout_seconds = 2;
  auto r = postgresql_backend::open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, make_error_code(errc::storage_failure));
  EXPECT_NE(r.err().message.find("PostgreSQL at 127.0.0.1:1/credbroker"), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find("TopSecret99"), std::string::npos) << r.err().message;
  auto wrong = test::pg_options(table_);
  wrong.connection_url = secret(server_.conninfo(server_.user, "WrongPassword77"));
  auto denied = postgresql_backend::open(wrong);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.err().message.find("password authentication failed"), std::string::npos) << denied.err().message;
  EXPECT_EQ(denied.err().message.find("WrongPassword77"), std::string::npos) << denied.err().message;
}

TEST_F(postgresql_backend_test, killed_sessions_are_replaced_and_a_resent_batch_lands_once) {
  auto b = open();
  ASSERT_TRUE(b->put("before", "1").ok());
  ASSERT_TRUE(b->get("before")->has_value());  // opens a reader
  EXPECT_GE(test::terminate_sessions(app_), 2);  // the writer and the reader
  // The writer's next batch finds its session gone, reconnects and sends the batch again.
  std::vector<operation> ops;
  ops.push_back(operation::put("after", "2"));
  ops.push_back(operation::remove("before"));
  ASSERT_TRUE(b->apply(std::move(ops)).ok());
  // The reader's next read is retried on a fresh session.
  auto got = b->get("after");
  ASSERT_TRUE(got.ok()) << got.err().message;
  EXPECT_EQ(**got, "2");
  EXPECT_FALSE(b->get("before")->has_value());
  EXPECT_EQ(test::admin_sql("SELECT count(*) FROM " + table_)[0][0].as<int>(), 1);
}

TEST_F(postgresql_backend_test, a_batch_that_cannot_be_confirmed_says_it_may_have_been_stored) {
  const std::string role = test::fresh_name("cbrole"), password = random_alnum(24);
  test::admin_sql("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + password + "'");
  cleanup_ = {"DROP ROLE IF EXISTS " + role};
  auto o = test::pg_options(table_);
  o.connection_url = secret(server_.conninfo(role, password, app_));
  auto b = open(o);
  ASSERT_TRUE(b->put("k", "1").ok());
  // The server drops the writer's session and refuses new ones.
  test::admin_sql("ALTER ROLE " + role + " NOLOGIN");
  ASSERT_GE(test::terminate_sessions(app_), 1);
  auto lost = b->put("k", "2");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.err().code, make_error_code(errc::storage_failure));
  EXPECT_NE(lost.err().message.find("may or may not have been stored"), std::string::npos) << lost.err().message;
  EXPECT_NE(lost.err().message.find("PostgreSQL at " + server_.server_name()), std::string::npos);
  EXPECT_EQ(lost.err().message.find(password), std::string::npos);
  // While the server refuses connections, nothing was sent: a write fails as "not stored".
  auto refused = b->put("k", "3");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.err().message.find("not permitted to log in"), std::string::npos) << refused.err().message;
  // Back: writes work again, and the store holds the last acknowledged value.
  test::admin_sql("ALTER ROLE " + role + " LOGIN");
  EXPECT_EQ(**b->get("k"), "1");
  ASSERT_TRUE(b->put("k", "4").ok());
  EXPECT_EQ(**b->get("k"), "4");
}

TEST_F(postgresql_backend_test, a_refused_write_does_not_fail_its_neighbours) {
  auto b = open();
  // A key longer than a btree entry may be (about 2.7 kB, incompressible) is refused by the server.
  const std::string bad_key = "bad/" + random_alnum(4000);
  constexpr int writers = 16, rounds = 10;
  std::atomic<int> good_failures{0}, bad_ok{0};
  std::string bad_message;
  std::vector<std::thread> ts;
  for (int w = 0; w <= writers; ++w) {
    ts.emplace_back([&, w] {
      for (int r = 0; r < rounds; ++r) {
        if (w == writers) {
          auto s = b->put(bad_key, "x");
          if (s) ++bad_ok;
          else bad_message = s.err().message;
        } else if (!b->put("good/" + std::to_string(w) + "/" + std::to_string(r), "v").ok()) {
          ++good_failures;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good_failures.load(), 0);
  EXPECT_EQ(bad_ok.load(), 0);
  EXPECT_NE(bad_message.find("storage write failed for \"bad/"), std::string::npos) << bad_message;
  EXPECT_EQ(b->list("good/")->size(), static_cast<std::size_t>(writers));
}

TEST_F(postgresql_backend_test, concurrent_writers_share_commits) {
  auto b = open();
  constexpr int writers = 64, each = 20;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < writers; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        if (!b->put("g/" + std::to_string(t) + "/" + std::to_string(i), "v").ok()) ++failures;
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(b->committed_writes(), static_cast<std::uint64_t>(writers * each));
  EXPECT_LT(b->commits(), static_cast<std::uint64_t>(writers * each) / 4) << "commits: " << b->commits();
  EXPECT_EQ(test::admin_sql("SELECT count(*) FROM " + table_)[0][0].as<int>(), writers * each);
}

TEST_F(postgresql_backend_test, reads_never_open_more_sessions_than_max_parallel_allows) {
  auto o = test::pg_options(table_, app_);
  o.max_parallel = 4;  // the writer + 3 readers
  auto b = open(o);
  ASSERT_TRUE(b->put("k", "v").ok());
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!b->get("k").ok()) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(b->open_readers(), 3u);
  const auto sessions = test::admin_sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app_ + "'");
  EXPECT_LE(sessions[0][0].as<int>(), 4);
}

}  // namespace

namespace credbroker::test {
INSTANTIATE_TEST_SUITE_P(postgresql, storage_conformance, ::testing::ValuesIn(backends()), storage_name);
}  // namespace credbroker::test
