// The leadership on the real PostgreSQL: two nodes (each a backend in HA mode + its leadership) on
// one table. One wins; a killed holder session is replaced within the TTL; a holder that stops
// talking (paused: no step, no write) loses at the TTL and its resumed write fails; no write of a
// former holder lands after the new holder's first (an audit trigger numbers every row write);
// release() hands over at once. The SIGSTOP of a real process is in sigstop_test.py.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "broker/ha/postgresql_leadership.hpp"
#include "support/pg_storage.hpp"

using namespace credbroker;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// One broker's storage and leadership, with an optional thread that calls step() in a loop.
struct node {
  node(const std::string& table, const std::string& ha_table, const std::string& name, std::chrono::milliseconds ttl) {
    auto o = test::pg_options(table);
    o.ha_enabled = true;
    o.ha_table = ha_table;
    auto b = storage::postgresql_backend::open(o);
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.err().message);
    backend = std::move(*b);
    ha::leadership_options lo;
    lo.node_id = name;
    lo.api_addr = "https://" + name + ".internal:8200";
    lo.ttl = ttl;
    lo.acquire_wait = 200ms;
    auto l = ha::postgresql_leadership::open(*backend, lo);
    EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.err().message);
    leadership = std::move(*l);
    leadership->on_lost([this](std::uint64_t e, const std::string& why) {
      std::lock_guard lock(mu);
      losses.emplace_back(e, why);
    });
  }
  ~node() {
    stop_stepping();
    leadership.reset();
    backend.reset();
  }
  void start_stepping() {
    stepping = true;
    stepper = std::thread([this] {
      while (stepping.load()) {
        (void)leadership->step();
        if (leadership->is_leader()) std::this_thread::sleep_for(leadership->step_interval());
      }
    });
  }
  void stop_stepping() {
    stepping = false;
    if (stepper.joinable()) stepper.join();
  }
  std::vector<std::pair<std::uint64_t, std::string>> lost() {
    std::lock_guard lock(mu);
    return losses;
  }
  int lock_pid(const std::string& ha_table, const std::string& table) {
    return test::admin_sql("SELECT lock_pid FROM " + ha_table + " WHERE name = '" + table + "'")[0][0].as<int>();
  }

  std::unique_ptr<storage::postgresql_backend> backend;
  std::unique_ptr<ha::postgresql_leadership> leadership;
  std::atomic<bool> stepping{false};
  std::thread stepper;
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::string>> losses;
};

bool wait_until(const std::function<bool()>& f, std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

class leadership_test : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = test::fresh_name("hakv");
    ha_table_ = test::fresh_name("halock");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    test::admin_sql("DROP TABLE IF EXISTS " + table_ + " CASCADE");
    test::admin_sql("DROP TABLE IF EXISTS " + ha_table_);
    if (!audit_.empty()) {
      test::admin_sql("DROP TABLE IF EXISTS " + audit_);
      test::admin_sql("DROP FUNCTION IF EXISTS " + audit_ + "_f()");
    }
  }
  void make_nodes(std::chrono::milliseconds ttl) {
    a_ = std::make_unique<node>(table_, ha_table_, "node-a", ttl);
    b_ = std::make_unique<node>(table_, ha_table_, "node-b", ttl);
  }
  // Every row write of the kv table gets the next number of a sequence, in execution order.
  void add_audit() {
    audit_ = test::fresh_name("audit");
    test::admin_sql("CREATE TABLE " + audit_ + " (seq bigserial PRIMARY KEY, key text NOT NULL)");
    test::admin_sql("CREATE FUNCTION " + audit_ + "_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO " +
                    audit_ + " (key) VALUES (convert_from(NEW.key, 'UTF8')); RETURN NEW; END $$");
    test::admin_sql("CREATE TRIGGER " + audit_ + "_t AFTER INSERT OR UPDATE ON " + table_ +
                    " FOR EACH ROW EXECUTE FUNCTION " + audit_ + "_f()");
  }
  std::int64_t audit_seq(const char* agg, const std::string& like) {
    auto r = test::admin_sql(std::string("SELECT coalesce(") + agg + "(seq), -1) FROM " + audit_ + " WHERE key LIKE '" + like + "'");
    return r[0][0].as<std::int64_t>();
  }
  bool stored(const std::string& key) {
    return test::admin_sql("SELECT count(*) FROM " + table_ + " WHERE key = convert_to('" + key + "', 'UTF8')")[0][0].as<int>() == 1;
  }

  std::string table_, ha_table_, audit_;
  std::unique_ptr<node> a_, b_;
};

TEST_F(leadership_test, two_contenders_one_wins_and_standbys_see_its_address) {
  make_nodes(3000ms);
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  EXPECT_EQ(a_->leadership->epoch(), 1u);
  const auto t0 = clock_type::now();
  ASSERT_TRUE(b_->leadership->step().ok());  // waits acquire_wait, then stays standby
  EXPECT_FALSE(b_->leadership->is_leader());
  EXPECT_GE(clock_type::now() - t0, 150ms);
  ASSERT_TRUE(a_->backend->put("k", "from-a").ok());
  auto refused = b_->backend->put("k", "from-b");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.err().message.find("does not hold the leadership (standby)"), std::string::npos) << refused.err().message;
  EXPECT_EQ(**b_->backend->get("k"), "from-a");  // standbys read
  auto who = b_->leadership->leader();
  ASSERT_TRUE(who.ok()) << who.err().message;
  ASSERT_TRUE(who->has_value());
  EXPECT_EQ((*who)->node_id, "node-a");
  EXPECT_EQ((*who)->api_addr, "https://node-a.internal:8200");
  EXPECT_EQ((*who)->epoch, 1u);
  EXPECT_TRUE((*who)->active);
}

TEST_F(leadership_test, a_killed_holder_session_is_replaced_within_the_ttl) {
  const auto ttl = 3000ms;
  make_nodes(ttl);
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  ASSERT_TRUE(a_->backend->put("before", "a").ok());
  b_->start_stepping();
  const int pid = a_->lock_pid(ha_table_, table_);
  test::admin_sql("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  const auto killed = clock_type::now();
  ASSERT_TRUE(wait_until([&] { return b_->leadership->is_leader(); }, ttl));
  const auto took = clock_type::now() - killed;
  std::printf("takeover after pg_terminate_backend: %.0f ms\n", std::chrono::duration<double, std::milli>(took).count());
  EXPECT_EQ(b_->leadership->epoch(), 2u);
  // A learns at its next write (or heartbeat): it fails, A steps down and writes nothing more.
  auto late = a_->backend->put("late", "a");
  ASSERT_FALSE(late.ok());
  EXPECT_FALSE(a_->leadership->is_leader());
  ASSERT_EQ(a_->lost().size(), 1u);
  EXPECT_EQ(a_->lost()[0].first, 1u);
  EXPECT_FALSE(stored("late"));
  ASSERT_TRUE(b_->backend->put("after", "b").ok());
  ASSERT_TRUE(a_->leadership->step().ok());  // closes its old session, waits as a standby
  EXPECT_FALSE(a_->leadership->is_leader());
  auto who = a_->leadership->leader();
  ASSERT_TRUE(who.ok() && who->has_value());
  EXPECT_EQ((*who)->node_id, "node-b");
}

TEST_F(leadership_test, a_silent_holder_loses_at_the_ttl_and_its_resumed_write_fails) {
  const auto ttl = 2000ms;
  make_nodes(ttl);
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  ASSERT_TRUE(a_->backend->put("a/last-before-pause", "a").ok());
  const auto paused = clock_type::now();
  // "Paused": A neither steps nor writes. B contends all along.
  b_->start_stepping();
  ASSERT_TRUE(wait_until([&] { return b_->leadership->is_leader(); }, ttl + 5000ms));
  const auto took = clock_type::now() - paused;
  std::printf("takeover from a silent holder (ttl %lld ms): %.0f ms\n", static_cast<long long>(ttl.count()),
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_GE(took, ttl - 200ms);  // the server waited for the idle timeout
  EXPECT_EQ(b_->leadership->epoch(), 2u);
  ASSERT_TRUE(b_->backend->put("b/first", "b").ok());
  // A resumes: its write goes to the session the server ended; it fails and A observes the loss.
  EXPECT_TRUE(a_->leadership->is_leader());  // nothing told it yet
  auto resumed = a_->backend->put("a/after-resume", "a");
  ASSERT_FALSE(resumed.ok());
  EXPECT_FALSE(a_->leadership->is_leader());
  ASSERT_EQ(a_->lost().size(), 1u);
  EXPECT_FALSE(stored("a/after-resume"));
  EXPECT_TRUE(stored("a/last-before-pause"));
}

TEST_F(leadership_test, a_paused_holder_observes_the_loss_by_its_local_deadline) {
  const auto ttl = 1000ms;
  make_nodes(ttl);
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  std::this_thread::sleep_for(ttl);  // paused: nothing sent for the whole ttl
  a_->leadership->check();           // the first thing it runs after resuming
  EXPECT_FALSE(a_->leadership->is_leader());
  ASSERT_EQ(a_->lost().size(), 1u);
  EXPECT_NE(a_->lost()[0].second.find("within the ttl"), std::string::npos) << a_->lost()[0].second;
  EXPECT_FALSE(a_->backend->put("k", "v").ok());
}

TEST_F(leadership_test, no_write_of_the_old_holder_lands_after_the_new_holders_first) {
  make_nodes(3000ms);
  add_audit();
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  std::atomic<bool> stop{false};
  std::atomic<int> a_acked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {  // A writes as fast as it can from 4 threads
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        if (a_->backend->put("a/" + std::to_string(w) + "/" + std::to_string(i), "a").ok()) ++a_acked;
      }
    });
  }
  ASSERT_TRUE(wait_until([&] { return a_acked.load() > 50; }, 10000ms));
  b_->start_stepping();
  test::admin_sql("SELECT pg_terminate_backend(" + std::to_string(a_->lock_pid(ha_table_, table_)) + ")");
  ASSERT_TRUE(wait_until([&] { return b_->leadership->is_leader(); }, 3000ms));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(b_->backend->put("b/" + std::to_string(i), "b").ok());
  std::this_thread::sleep_for(200ms);  // A's writers keep trying meanwhile
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_FALSE(a_->leadership->is_leader());
  const auto last_a = audit_seq("max", "a/%"), first_b = audit_seq("min", "b/%");
  EXPECT_GT(last_a, 0);
  EXPECT_GT(first_b, 0);
  EXPECT_LT(last_a, first_b) << "a write of the old holder landed after the new holder's first";
  // Every write A acknowledged is there.
  EXPECT_GE(test::admin_sql("SELECT count(*) FROM " + table_ + " WHERE key >= '\\x612f' AND key < '\\x6130'")[0][0].as<int>(),
            a_acked.load());
}

TEST_F(leadership_test, release_hands_over_at_once) {
  make_nodes(10000ms);
  ASSERT_TRUE(a_->leadership->step().ok());
  ASSERT_TRUE(a_->leadership->is_leader());
  b_->start_stepping();
  const auto t0 = clock_type::now();
  a_->leadership->release();
  ASSERT_TRUE(wait_until([&] { return b_->leadership->is_leader(); }, 3000ms));
  EXPECT_LT(clock_type::now() - t0, 3000ms);  // far below the 10 s ttl
  ASSERT_EQ(a_->lost().size(), 1u);
  EXPECT_EQ(a_->lost()[0].second, "released");
  EXPECT_FALSE(a_->backend->put("k", "a").ok());
  EXPECT_TRUE(b_->backend->put("k", "b").ok());
  EXPECT_EQ(b_->leadership->epoch(), 2u);
}

}  // namespace
