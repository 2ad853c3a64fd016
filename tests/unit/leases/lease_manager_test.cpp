#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <set>

#include <boost/asio/io_context.hpp>

#include "broker/core/scheduler_driver.hpp"
#include "support/test_store.hpp"
#include "leases/lease_manager.hpp"
#include "support/manual_time.hpp"
#include "support/thread_state.hpp"

#include <nlohmann/json.hpp>

using namespace credbroker;
using namespace credbroker::leases;
using std::chrono::seconds;
using credbroker::test::manual_time;

namespace {

// Called from the manager's revocation workers, several at once: records under a lock.
class fake_revoker final : public revoker {
 public:
  status revoke(const lease& l) override {
    std::lock_guard lock(mu);
    revoked.push_back(l.id);
    inherited[l.id] = l.inherited;
    if (failing.contains(l.id)) return make_error(errc::unavailable, "connection refused");
    return ok_v;
  }
  status renew(const lease& l, time_point new_expire) override {
    renewed.emplace_back(l.id, new_expire);
    return ok_v;
  }
  std::mutex mu;
  std::vector<std::string> revoked;
  std::map<std::string, bool> inherited;  // lease id -> lease::inherited at its last attempt
  std::vector<std::pair<std::string, time_point>> renewed;
  std::set<std::string> failing;
};

class lease_manager_test : public ::testing::Test {
 protected:
  lease_manager_test() {
    opts_.jitter = false;
    opts_.max_attempts = 3;
    opts_.backoff_base = seconds{10};
    opts_.irrevocable_retry = seconds{3600};
    mgr_ = std::make_unique<lease_manager>(store_, revoker_, clock_, time_.sched, time_.exec, opts_);
  }

  lease make(const std::string& id, seconds ttl, seconds role_max = seconds{0}) {
    lease l;
    l.id = id;
    l.connection = "pg";
    l.role = "app";
    l.username = "v-root-app-" + id.substr(id.size() - 4);
    l.revocation_statements = {"DROP ROLE \"{{name}}\";"};
    l.role_ttl = ttl;
    l.role_max_ttl = role_max;
    l.issue_time = clock_.now();
    l.expire_time = clock_.now() + ttl;
    l.state = lease_state::active;
    l.token_accessor = "acc";
    return l;
  }

  test::test_store store_;
  fake_revoker revoker_;
  fake_clock clock_{time_point{seconds{1'800'000'000}}};
  manual_time time_{clock_};  // before the managers: they leave it when destroyed
  manager_options opts_;
  std::unique_ptr<lease_manager> mgr_;
};

TEST_F(lease_manager_test, stored_record_round_trips_and_lists_like_vault) {
  auto l = make("database/creds/app/AAAAAAAAAAAAAAAAAAAAAAAA", seconds{3600});
  ASSERT_TRUE(mgr_->add(l).ok());
  ASSERT_TRUE(mgr_->add(make("database/creds/other/BBBBBBBBBBBBBBBBBBBBBBBB", seconds{60})).ok());
  auto back = mgr_->lookup(l.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->username, l.username);
  EXPECT_EQ(back->revocation_statements, l.revocation_statements);
  EXPECT_EQ(back->expire_time, l.expire_time);
  EXPECT_EQ(back->state, lease_state::active);
  EXPECT_EQ(*mgr_->list("database/creds/"), (std::vector<std::string>{"app/", "other/"}));
  EXPECT_EQ(*mgr_->list("database/creds/app/"), std::vector<std::string>{"AAAAAAAAAAAAAAAAAAAAAAAA"});
  EXPECT_EQ(mgr_->count(), 2u);
}

TEST_F(lease_manager_test, leases_issued_before_the_term_began_are_revoked_as_inherited) {
  const std::string before = "db/creds/a/1111", early = "db/creds/a/2222", own = "db/creds/a/3333";
  ASSERT_TRUE(mgr_->add(make(before, seconds{3600})).ok());
  mgr_->begin_term();
  clock_.advance(seconds{30});  // within the margin for another node's clock
  ASSERT_TRUE(mgr_->add(make(early, seconds{3600})).ok());
  clock_.advance(seconds{31});
  ASSERT_TRUE(mgr_->add(make(own, seconds{3600})).ok());
  const std::vector<std::pair<std::string, bool>> cases = {{before, true}, {early, true}, {own, false}};
  for (const auto& [id, inherited] : cases) {
    SCOPED_TRACE(id);
    ASSERT_TRUE(mgr_->revoke(id).ok());
    std::lock_guard lock(revoker_.mu);
    ASSERT_TRUE(revoker_.inherited.contains(id));
    EXPECT_EQ(revoker_.inherited[id], inherited);
  }
}

TEST_F(lease_manager_test, without_a_term_no_lease_is_inherited) {
  ASSERT_TRUE(mgr_->add(make("db/creds/a/1111", seconds{3600})).ok());
  ASSERT_TRUE(mgr_->revoke("db/creds/a/1111").ok());
  std::lock_guard lock(revoker_.mu);
  EXPECT_FALSE(revoker_.inherited["db/creds/a/1111"]);
}

TEST_F(lease_manager_test, renew_table) {
  ASSERT_TRUE(mgr_->add(make("db/creds/a/1111", seconds{3600}, seconds{7200})).ok());
  auto fixed = make("db/creds/a/2222", seconds{3600});
  fixed.renewable = false;
  ASSERT_TRUE(mgr_->add(fixed).ok());

  clock_.advance(seconds{1800});
  auto r = mgr_->renew("db/creds/a/1111", seconds{600});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->ttl.count(), 600);  // counted from now, not added
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(mgr_->lookup("db/creds/a/1111")->expire_time, clock_.now() + seconds{600});
  ASSERT_EQ(revoker_.renewed.size(), 1u);
  EXPECT_EQ(revoker_.renewed[0].second, clock_.now() + seconds{600});

  r = mgr_->renew("db/creds/a/1111", seconds{0});  // role default 1h, 1h30m of max left
  EXPECT_EQ(r->ttl.count(), 3600);
  r = mgr_->renew("db/creds/a/1111", seconds{9000});
  EXPECT_EQ(r->ttl.count(), 5400);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "TTL of \"2h30m\" exceeded the effective max_ttl of \"1h30m\"; TTL value is capped accordingly");

  EXPECT_EQ(mgr_->renew("db/creds/a/none", seconds{0}).err().message, "lease not found");
  EXPECT_EQ(mgr_->renew("db/creds/a/2222", seconds{0}).err().message, "lease is not renewable");
  clock_.advance(seconds{5400});
  EXPECT_EQ(mgr_->renew("db/creds/a/1111", seconds{0}).err().message, "lease expired");
}

TEST_F(lease_manager_test, past_max_ttl) {
  auto l = make("db/creds/a/3333", seconds{3600}, seconds{3600});
  l.expire_time = clock_.now() + seconds{7200};  // as if extended by hand
  ASSERT_TRUE(mgr_->add(l).ok());
  clock_.advance(seconds{3600});
  EXPECT_EQ(mgr_->renew(l.id, seconds{60}).err().message, "past the max TTL, cannot renew");
}

TEST_F(lease_manager_test, expiry_revokes_on_time_and_never_early) {
  auto l = make("db/creds/a/4444", seconds{10});
  l.expire_time += std::chrono::milliseconds{500};  // 10.5 s
  ASSERT_TRUE(mgr_->add(l).ok());
  clock_.advance(seconds{10});
  EXPECT_EQ(time_.run_due(), 0u);
  EXPECT_TRUE(revoker_.revoked.empty());
  EXPECT_EQ(*time_.sched.next_wakeup(), time_point{std::chrono::milliseconds{1'800'000'010'500}});
  clock_.advance(std::chrono::milliseconds{499});
  EXPECT_EQ(time_.run_due(), 0u);  // 10.499 s: never early
  clock_.advance(std::chrono::milliseconds{1});  // 10.500 s: due
  EXPECT_EQ(time_.run_due(), 1u);
  EXPECT_EQ(revoker_.revoked, std::vector<std::string>{l.id});
  EXPECT_FALSE(mgr_->lookup(l.id).ok());
  EXPECT_EQ(mgr_->count(), 0u);
}

TEST_F(lease_manager_test, a_manager_started_mid_tick_is_not_early_either) {
  clock_.advance(std::chrono::milliseconds{50});  // 1800000000.050
  manual_time mid_tick(clock_);
  lease_manager m(store_, revoker_, clock_, mid_tick.sched, mid_tick.exec, opts_);
  auto l = make("db/creds/a/6666", seconds{0});
  l.expire_time = clock_.now() + std::chrono::milliseconds{30};  // .080: inside the current tick
  ASSERT_TRUE(m.add(l).ok());
  EXPECT_EQ(mid_tick.run_due(), 0u);
  clock_.advance(std::chrono::milliseconds{29});
  EXPECT_EQ(mid_tick.run_due(), 0u);
  clock_.advance(std::chrono::milliseconds{21});  // .100: the tick after the due time
  EXPECT_EQ(mid_tick.run_due(), 1u);
}

TEST_F(lease_manager_test, failed_revocations_back_off_then_become_irrevocable_and_keep_retrying) {
  auto l = make("db/creds/a/5555", seconds{5});
  revoker_.failing.insert(l.id);
  ASSERT_TRUE(mgr_->add(l).ok());
  clock_.advance(seconds{5});
  time_.run_due();  // attempt 1 fails
  auto rec = mgr_->lookup(l.id);
  EXPECT_EQ(rec->state, lease_state::revoking);
  EXPECT_EQ(rec->attempts, 1);
  EXPECT_EQ(rec->last_error, "connection refused");
  clock_.advance(seconds{9});
  EXPECT_EQ(time_.run_due(), 0u);  // backoff 10 s not over
  clock_.advance(seconds{1});
  EXPECT_EQ(time_.run_due(), 1u);  // attempt 2
  EXPECT_EQ(mgr_->lookup(l.id)->attempts, 2);
  clock_.advance(seconds{19});
  EXPECT_EQ(time_.run_due(), 0u);  // backoff doubled to 20 s
  clock_.advance(seconds{1});
  EXPECT_EQ(time_.run_due(), 1u);  // attempt 3 = max
  rec = mgr_->lookup(l.id);
  EXPECT_EQ(rec->state, lease_state::irrevocable);
  ASSERT_EQ(mgr_->irrevocable().size(), 1u);
  EXPECT_EQ(mgr_->irrevocable()[0].last_error, "connection refused");
  EXPECT_EQ(mgr_->renew(l.id, seconds{0}).err().message,
            "lease is expired and has failed previous revocation attempts");
  // Still retried on the slow schedule; once the database is back it is gone.
  revoker_.failing.clear();
  clock_.advance(seconds{3599});
  EXPECT_EQ(time_.run_due(), 0u);
  clock_.advance(seconds{1});
  EXPECT_EQ(time_.run_due(), 1u);
  EXPECT_FALSE(mgr_->lookup(l.id).ok());
  EXPECT_TRUE(mgr_->irrevocable().empty());
}

TEST_F(lease_manager_test, due_revocations_run_concurrently_within_a_per_connection_cap) {
  // Each connection's first revocation waits (on a condition, not the clock) until a second one of
  // the same connection runs beside it: were revocations run one at a time, it would wait in vain.
  struct overlapping_revoker final : revoker {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, int> running, peak;
    std::map<std::string, bool> overlapped;
    status revoke(const lease& l) override {
      std::unique_lock lock(mu);
      peak[l.connection] = std::max(peak[l.connection], ++running[l.connection]);
      if (running[l.connection] >= 2) overlapped[l.connection] = true;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return overlapped[l.connection]; });
      --running[l.connection];
      return ok_v;
    }
    status renew(const lease&, time_point) override { return ok_v; }
  } slow;
  manual_time capped(clock_, {8, 3});  // the executor's cap per connection: 3
  lease_manager m(store_, slow, clock_, capped.sched, capped.exec, opts_);
  for (int i = 0; i < 12; ++i) {
    auto l = make("db/creds/a/" + std::to_string(1000 + i), seconds{1});
    l.connection = i % 2 == 0 ? "pg" : "redis";
    ASSERT_TRUE(m.add(l).ok());
  }
  clock_.advance(seconds{1});
  EXPECT_EQ(capped.run_due(), 12u);
  for (const char* conn : {"pg", "redis"}) {
    EXPECT_LE(slow.peak[conn], 3) << conn;   // never above the cap
    EXPECT_TRUE(slow.overlapped[conn]) << conn;  // and really concurrent
  }
  EXPECT_EQ(m.count(), 0u);
}

TEST_F(lease_manager_test, a_hung_connection_delays_only_its_own_revocations) {
  // One connection's database never answers: its revocations block until the test releases them.
  // The other connection's expiries — due with the hung ones, and due later — and its revoke-prefix
  // are revoked meanwhile, on the executor's threads.
  struct hanging_revoker final : revoker {
    explicit hanging_revoker(const blocking_executor& e) : exec(e) {}
    status revoke(const lease& l) override {
      std::unique_lock lock(mu);
      if (!exec.running_in_this_thread()) ++off_executor;
      if (l.connection == "hung") {
        ++hung_started;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      }
      ++revoked[l.connection];
      cv.notify_all();
      return ok_v;
    }
    status renew(const lease&, time_point) override { return ok_v; }
    // Waits for pred (a safety net of 60 s, so a broken build fails instead of hanging).
    bool wait(const std::function<bool()>& pred) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(60), pred);
    }
    const blocking_executor& exec;
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    int hung_started = 0, off_executor = 0;
    std::map<std::string, int> revoked;
    void open() {
      {
        std::lock_guard lock(mu);
        release = true;
      }
      cv.notify_all();
    }
  };
  manual_time t(clock_, {8, 2});  // 8 threads, 2 slots per connection
  hanging_revoker rv(t.exec);
  lease_manager m(store_, rv, clock_, t.sched, t.exec, opts_);
  struct open_at_exit {  // a failed assertion must not leave the manager waiting for hung calls
    hanging_revoker& r;
    ~open_at_exit() { r.open(); }
  } opener{rv};
  auto add = [&](const std::string& conn, int i, seconds ttl) {
    auto l = make("database/creds/" + conn + "/" + std::to_string(10000 + i), ttl);
    l.connection = conn;
    ASSERT_TRUE(m.add(l));
  };
  for (int i = 0; i < 10; ++i) add("hung", i, seconds{1});
  for (int i = 0; i < 20; ++i) add("ok", i, seconds{1});
  for (int i = 20; i < 40; ++i) add("ok", i, seconds{60});
  clock_.advance(seconds{1});
  // Advance only: run_due() would wait for the hung revocations too.
  EXPECT_EQ(t.sched.advance(clock_.now()), 30u);
  ASSERT_TRUE(rv.wait([&] { return rv.revoked["ok"] == 20 && rv.hung_started == 2; }));
  EXPECT_EQ(rv.revoked["hung"], 0);
  const auto hung = t.exec.stats("database/|hung");
  EXPECT_EQ(hung.running, 2u);  // its cap, and no more
  EXPECT_EQ(hung.queued, 8u);   // the rest wait in its own queue
  // Later expiries of the healthy connection do not wait for the hung one either.
  clock_.advance(seconds{60});
  EXPECT_EQ(t.sched.advance(clock_.now()), 20u);
  ASSERT_TRUE(rv.wait([&] { return rv.revoked["ok"] == 40; }));
  // Nor does a revoke-prefix from an API handler.
  for (int i = 40; i < 45; ++i) add("ok", i, seconds{3600});
  EXPECT_TRUE(m.revoke_prefix("database/creds/ok"));
  {
    std::lock_guard lock(rv.mu);
    EXPECT_EQ(rv.revoked["ok"], 45);
    EXPECT_EQ(rv.hung_started, 2);
    EXPECT_EQ(rv.revoked["hung"], 0);
  }
  rv.open();
  t.exec.wait_idle();
  std::lock_guard lock(rv.mu);
  EXPECT_EQ(rv.revoked["hung"], 10);  // in the end every lease is revoked
  EXPECT_EQ(rv.off_executor, 0);      // every database call ran on the executor: no thread of its own
  EXPECT_EQ(m.count(), 0u);
}

TEST_F(lease_manager_test, revoke_prefix_force_and_unknown) {
  for (const char* id : {"db/creds/a/1", "db/creds/a/2", "db/creds/b/3", "other/creds/c/4"}) {
    ASSERT_TRUE(mgr_->add(make(id, seconds{3600})).ok());
  }
  EXPECT_TRUE(mgr_->revoke("db/creds/zz/unknown").ok());  // idempotent
  ASSERT_TRUE(mgr_->revoke_prefix("db/creds/a/").ok());
  std::sort(revoker_.revoked.begin(), revoker_.revoked.end());
  EXPECT_EQ(revoker_.revoked, (std::vector<std::string>{"db/creds/a/1", "db/creds/a/2"}));
  EXPECT_EQ(revoker_.revoked.size(), 2u);
  revoker_.revoked.clear();
  ASSERT_TRUE(mgr_->revoke_force("db/").ok());
  EXPECT_EQ(revoker_.revoked, (std::vector<std::string>{"db/creds/b/3"}));  // force asks the database too
  EXPECT_FALSE(mgr_->lookup("db/creds/b/3").ok());
  EXPECT_TRUE(mgr_->lookup("other/creds/c/4").ok());
  EXPECT_EQ(mgr_->count(), 1u);
}

// Vault's revoke-force (expiration.go revokeCommon with force): the backend is asked to revoke each
// lease, a refusal is ignored, and the lease is gone either way; its token index entry too.
TEST_F(lease_manager_test, revoke_force_drops_the_users_it_can_and_forgets_the_rest) {
  auto reachable = make("db/creds/a/1111", seconds{3600});
  auto gone = make("db/creds/a/2222", seconds{3600});
  gone.token_accessor = reachable.token_accessor = "acc";
  ASSERT_TRUE(mgr_->add(reachable).ok());
  ASSERT_TRUE(mgr_->add(gone).ok());
  revoker_.failing.insert(gone.id);
  ASSERT_TRUE(mgr_->revoke_force("db/creds/a").ok());
  std::sort(revoker_.revoked.begin(), revoker_.revoked.end());
  EXPECT_EQ(revoker_.revoked, (std::vector<std::string>{reachable.id, gone.id}));
  EXPECT_EQ(mgr_->lookup(gone.id).err().code, make_error_code(errc::lease_not_found));
  EXPECT_EQ(mgr_->count(), 0u);
  EXPECT_TRUE(mgr_->irrevocable().empty());
  std::size_t index_entries = 0;
  ASSERT_TRUE(store_.scan(lease_token_index_prefix, [&](const std::string&, std::string_view) {
    ++index_entries;
    return true;
  }));
  EXPECT_EQ(index_entries, 0u);
  clock_.advance(seconds{7200});
  EXPECT_EQ(time_.run_due(), 0u);  // nothing left scheduled
}

TEST_F(lease_manager_test, a_prefix_is_a_path_not_a_string_prefix) {
  for (const char* id : {"db/creds/app/1", "db/creds/app2/2", "db/creds/app/sub/3"}) {
    ASSERT_TRUE(mgr_->add(make(id, seconds{3600})).ok());
  }
  ASSERT_TRUE(mgr_->revoke_prefix("db/creds/app").ok());  // no trailing slash: still the app/ folder only
  std::sort(revoker_.revoked.begin(), revoker_.revoked.end());
  EXPECT_EQ(revoker_.revoked, (std::vector<std::string>{"db/creds/app/1", "db/creds/app/sub/3"}));
  EXPECT_TRUE(mgr_->lookup("db/creds/app2/2").ok());
  // A whole lease id is a prefix too.
  ASSERT_TRUE(mgr_->revoke_force("db/creds/app2/2").ok());
  EXPECT_FALSE(mgr_->lookup("db/creds/app2/2").ok());
  EXPECT_EQ(mgr_->count(), 0u);
}

TEST_F(lease_manager_test, restore_rebuilds_the_index_and_reports_bad_records) {
  ASSERT_TRUE(mgr_->add(make("db/creds/a/keep", seconds{3600})).ok());
  ASSERT_TRUE(mgr_->add(make("db/creds/a/gone", seconds{60})).ok());
  store_.poke(lease_storage_prefix + "db/creds/a/broken", "{not json");
  // A new manager over the same storage, after a "restart" during which one lease expired.
  clock_.advance(seconds{120});
  manual_time restarted(clock_);
  lease_manager again(store_, revoker_, clock_, restarted.sched, restarted.exec, opts_);
  auto bad = again.restore();
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->unreadable, std::vector<std::string>{"db/creds/a/broken"});
  EXPECT_EQ(bad->restored, 2u);
  EXPECT_EQ(again.count(), 2u);
  EXPECT_EQ(restarted.run_due(), 1u);  // the one that expired while down, at once
  EXPECT_EQ(revoker_.revoked, std::vector<std::string>{"db/creds/a/gone"});
  EXPECT_TRUE(store_.get(lease_storage_prefix + "db/creds/a/broken")->has_value());  // kept
}

TEST_F(lease_manager_test, restore_while_serving_never_reports_this_process_in_flight_issuances) {
  // A pending lease from the last run (written by another manager over the same storage) ...
  {
    manual_time last_run(clock_);
    lease_manager previous(store_, revoker_, clock_, last_run.sched, last_run.exec, opts_);
    auto l = make("database/creds/app/PPPPPPPPPPPPPPPPPPPPPPPP", seconds{3600});
    l.state = lease_state::pending;
    ASSERT_TRUE(previous.add(l));
  }
  // ... and, in this process, an issuance in flight and a lease renewed before restore runs.
  auto flying = make("database/creds/app/FFFFFFFFFFFFFFFFFFFFFFFF", seconds{3600});
  flying.state = lease_state::pending;
  ASSERT_TRUE(mgr_->add(flying));
  ASSERT_TRUE(mgr_->add(make("database/creds/app/RRRRRRRRRRRRRRRRRRRRRRRR", seconds{60})));
  auto restored = mgr_->restore();
  ASSERT_TRUE(restored);
  EXPECT_EQ(mgr_->take_pending(), std::vector<std::string>{"database/creds/app/PPPPPPPPPPPPPPPPPPPPPPPP"});
  EXPECT_EQ(mgr_->count(), 3u);
  // Once activated, a second restore (seal, unseal) still never reports it.
  auto activated = mgr_->activate(flying);
  ASSERT_TRUE(activated && *activated);
  EXPECT_EQ(mgr_->lookup(flying.id)->state, lease_state::active);
  ASSERT_TRUE(mgr_->restore());
  const auto again = mgr_->take_pending();
  EXPECT_EQ(std::count(again.begin(), again.end(), flying.id), 0);
  EXPECT_EQ(mgr_->count(), 3u);  // restoring twice schedules nothing twice
}

TEST_F(lease_manager_test, revocations_reaching_an_issuance_in_flight_are_handed_to_the_issuer) {
  // Each way a revocation can reach a lease whose user is still being created.
  const std::vector<std::pair<const char*, std::function<void(const lease&)>>> ways = {
      {"revoke", [this](const lease& l) { EXPECT_TRUE(mgr_->revoke(l.id)); }},
      {"revoke-prefix", [this](const lease&) { EXPECT_TRUE(mgr_->revoke_prefix("database/creds/app")); }},
      {"token revoked", [this](const lease&) { EXPECT_TRUE(mgr_->expire_by_token("acc")); }},
      {"sync=false", [this](const lease& l) { EXPECT_TRUE(mgr_->expire_now(l.id)); }},
      {"expiry", [this](const lease&) {
         clock_.advance(seconds{61});
         time_.run_due();
       }},
      {"revoke-force", [this](const lease&) { EXPECT_TRUE(mgr_->revoke_force("database/creds/app")); }},
  };
  int n = 0;
  for (const auto& [name, revoke] : ways) {
    SCOPED_TRACE(name);
    auto l = make("database/creds/app/IIIIIIIIIIIIIIIIIIII" + std::to_string(1000 + n++), seconds{60});
    l.state = lease_state::pending;
    ASSERT_TRUE(mgr_->add(l));
    revoke(l);
    EXPECT_TRUE(revoker_.revoked.empty()) << "a user still being created must not be dropped before it exists";
    auto a = mgr_->activate(l);
    ASSERT_TRUE(a);
    EXPECT_FALSE(*a) << "the issuer must learn that its lease was revoked";
    ASSERT_TRUE(mgr_->forget(l.id));
    EXPECT_EQ(mgr_->lookup(l.id).err().code, make_error_code(errc::lease_not_found));
  }
  EXPECT_EQ(mgr_->count(), 0u);
}

TEST_F(lease_manager_test, a_released_issuance_is_revoked_normally) {
  auto quiet = make("database/creds/app/QQQQQQQQQQQQQQQQQQQQQQQQ", seconds{60});
  quiet.state = lease_state::pending;
  auto asked = make("database/creds/app/AAAAAAAAAAAAAAAAAAAAAAAA", seconds{3600});
  asked.state = lease_state::pending;
  ASSERT_TRUE(mgr_->add(quiet));
  ASSERT_TRUE(mgr_->add(asked));
  ASSERT_TRUE(mgr_->revoke(asked.id));  // deferred: the issuance is in flight
  // The database could not be asked whether the users exist: both become ordinary pending leases.
  mgr_->release(quiet.id);
  mgr_->release(asked.id);
  time_.run_due();  // the revocation that came during the flight now runs
  EXPECT_EQ(revoker_.revoked, std::vector<std::string>{asked.id});
  clock_.advance(seconds{61});
  time_.run_due();  // and the other one at its expiry
  EXPECT_EQ(revoker_.revoked.size(), 2u);
  EXPECT_EQ(mgr_->count(), 0u);
}

TEST(lease_expiry_driver, wakes_early_for_an_earlier_lease_and_sleeps_through_later_ones) {
  // The Asio driver on a fake clock (io.poll() runs what is ready and never waits); it would sleep
  // 30 s between looks, so only an early wake-up revokes in time.
  test::test_store store;
  fake_clock clk{time_point{seconds{1'800'000'000}}};
  struct recording final : revoker {
    explicit recording(const credbroker::clock& c) : clk(c) {}
    status revoke(const lease& l) override {
      std::lock_guard lock(mu);
      at.emplace_back(l.id, clk.now());
      return ok_v;
    }
    status renew(const lease&, time_point) override { return ok_v; }
    const credbroker::clock& clk;
    std::mutex mu;
    std::vector<std::pair<std::string, time_point>> at;
  } rec(clk);
  manual_time t(clk);
  boost::asio::io_context io;
  scheduler_driver driver(io, t.sched, clk, {}, std::chrono::seconds(30));
  lease_manager mgr(store, rec, clk, t.sched, t.exec, {});
  auto add = [&](const std::string& id, std::chrono::milliseconds in) {
    lease l;
    l.id = id;
    l.connection = "pg";
    l.username = "u";
    l.issue_time = clk.now();
    l.expire_time = clk.now() + in;
    l.state = lease_state::active;
    ASSERT_TRUE(mgr.add(l));
  };
  add("database/creds/app/LATERLATERLATERLATERLATE", std::chrono::hours(1));
  driver.start();
  io.poll();
  EXPECT_EQ(driver.armed_for(), clk.now() + seconds(30));  // asleep: the longest nap, not an hour
  const auto due = clk.now() + std::chrono::milliseconds(100);  // a whole tick: armed for exactly it
  add("database/creds/app/SOONSOONSOONSOONSOONSOON", std::chrono::milliseconds(100));
  io.poll();  // the wake-up the earlier lease posted
  EXPECT_EQ(driver.armed_for(), due);  // re-armed for it: neither early nor after the nap
  EXPECT_EQ(io.poll(), 0u);
  clk.advance(std::chrono::milliseconds(100));
  // The steady_timer itself counts real time (100 ms); then the wake-up revokes what is due.
  ASSERT_EQ(io.run_one_for(std::chrono::seconds(10)), 1u);
  t.exec.wait_idle();
  driver.stop();
  std::lock_guard lock(rec.mu);
  ASSERT_EQ(rec.at.size(), 1u);
  EXPECT_EQ(rec.at[0].first, "database/creds/app/SOONSOONSOONSOONSOONSOON");
  EXPECT_GE(rec.at[0].second, due);  // never early
}

TEST(lease_codec, lease_suffixes_are_24_alphanumerics_that_sort_by_issue_time) {
  const time_point t0{std::chrono::milliseconds{1'800'000'000'000}};
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    const std::string s = new_lease_suffix(t0 + std::chrono::milliseconds(i * 7));
    ASSERT_EQ(s.size(), 24u);
    EXPECT_EQ(s.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), std::string::npos);
    if (i > 0) {
      EXPECT_LT(previous.substr(0, 8), s.substr(0, 8));  // later issue time, later key
    }
    previous = s;
  }
  EXPECT_EQ(new_lease_suffix(t0).substr(0, 8), "0VgmOYqW");
  // The random part differs for the same millisecond.
  EXPECT_NE(new_lease_suffix(t0), new_lease_suffix(t0));
}

TEST(lease_codec, round_trip_and_errors) {
  lease l;
  l.id = "database/creds/app/X";
  l.connection = "pg";
  l.username = "u";
  l.issue_time = time_point{std::chrono::milliseconds{1'800'000'000'123}};
  l.expire_time = l.issue_time + seconds{5};
  l.state = lease_state::irrevocable;
  l.attempts = 6;
  l.last_error = "boom";
  l.boot = "k3J9xQ0aZ7mT2pLb";
  auto back = decode(encode(l));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->boot, l.boot);
  EXPECT_EQ(back->issue_time, l.issue_time);
  EXPECT_EQ(back->state, lease_state::irrevocable);
  EXPECT_EQ(back->attempts, 6);
  const std::string text = encode(l);
  EXPECT_EQ(text.substr(0, 5), "L1 i ");  // header: state irrevocable, due = next_attempt
  auto h = peek_schedule(text);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->state, lease_state::irrevocable);
  EXPECT_EQ(h->due, l.next_attempt);
  EXPECT_FALSE(peek_schedule("{\"id\":1}").has_value());
  EXPECT_FALSE(peek_schedule("L1 x 5\n{}").has_value());
  EXPECT_FALSE(peek_schedule("L1 a \n{}").has_value());
  EXPECT_FALSE(decode("[]").ok());
  EXPECT_FALSE(decode(R"({"id":"x"})").ok());
  EXPECT_EQ(decode(R"({"id":"x","conn":"c","user":"u","issued":0,"expires":0,"state":"weird"})").err().message,
            "lease x has an unknown state \"weird\"");
}

TEST(lease_codec, hand_written_json_is_what_nlohmann_reads_for_every_field) {
  lease l;
  l.id = "database/creds/app/Y";
  l.connection = "p\"g\\";
  l.role = "r\u00e9le";          // UTF-8 passes through
  l.username = "u\n\t\x01";      // control characters are escaped
  l.revocation_statements = {"DROP ROLE \"{{name}}\";", ""};
  l.renew_statements = {};
  l.role_ttl = seconds{3600};
  l.role_max_ttl = seconds{-1};
  l.issue_time = time_point{std::chrono::milliseconds{-5}};
  l.expire_time = time_point{std::chrono::milliseconds{1'800'000'000'999}};
  l.last_renewal = time_point{std::chrono::milliseconds{7}};
  l.renewable = false;
  l.token_accessor = "acc";
  l.state = lease_state::revoking;
  l.attempts = 2;
  l.last_error = "bad \xff byte";  // invalid UTF-8 becomes U+FFFD, as nlohmann's replace handler does
  l.next_attempt = time_point{std::chrono::milliseconds{42}};
  const std::string text = encode(l);
  const auto body = nlohmann::json::parse(text.substr(text.find('\n') + 1));
  const nlohmann::json expected = {
      {"id", l.id}, {"conn", l.connection}, {"role", l.role}, {"user", l.username},
      {"revoke", l.revocation_statements}, {"renew", nlohmann::json::array()}, {"ttl", 3600}, {"max_ttl", -1},
      {"issued", -5}, {"expires", 1'800'000'000'999LL}, {"renewed", 7}, {"renewable", false}, {"accessor", "acc"},
      {"state", "revoking"}, {"attempts", 2}, {"error", "bad \xef\xbf\xbd byte"}, {"next", 42}};
  EXPECT_EQ(body, expected);
  EXPECT_EQ(text.substr(0, 7), "L1 r 42");
  auto back = decode(text);
  ASSERT_TRUE(back) << back.err().message;
  EXPECT_EQ(back->username, l.username);
  EXPECT_EQ(back->revocation_statements, l.revocation_statements);
  EXPECT_EQ(back->next_attempt, l.next_attempt);
  EXPECT_FALSE(back->renewable);
}

}  // namespace

TEST_F(lease_manager_test, a_renew_racing_a_revocation_never_brings_the_lease_back) {
  // The revoker holds the revocation inside the database call until the renew has been sent.
  struct gated_revoker final : revoker {
    std::mutex mu;
    std::condition_variable cv;
    bool in_revoke = false, release = false;
    int renews = 0;
    status revoke(const lease&) override {
      std::unique_lock lock(mu);
      in_revoke = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return ok_v;
    }
    status renew(const lease&, time_point) override {
      std::lock_guard lock(mu);
      ++renews;
      return ok_v;
    }
  } gated;
  lease_manager m(store_, gated, clock_, time_.sched, time_.exec, opts_);
  const auto l = make("db/creds/a/RACE", seconds{3600});
  ASSERT_TRUE(m.add(l).ok());
  std::thread revoking([&] { EXPECT_TRUE(m.revoke(l.id).ok()); });
  {
    std::unique_lock lock(gated.mu);
    gated.cv.wait(lock, [&] { return gated.in_revoke; });
  }
  result<renew_result> renewed = make_error(errc::internal, "not run");
  std::atomic<pid_t> renew_thread{0};
  std::thread renewing([&] {
    renew_thread = test::this_thread_id();
    renewed = m.renew(l.id, seconds{600});
  });
  while (renew_thread == 0) std::this_thread::yield();
  EXPECT_TRUE(test::wait_until_asleep(renew_thread)) << "the renew never waited behind the revocation";
  {
    std::lock_guard lock(gated.mu);
    gated.release = true;
  }
  gated.cv.notify_all();
  revoking.join();
  renewing.join();
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.err().message, "lease not found");
  EXPECT_EQ(gated.renews, 0);  // the database was never asked to extend a dropped user
  EXPECT_EQ(m.count(), 0u);
  EXPECT_FALSE(m.lookup(l.id).ok());
}
