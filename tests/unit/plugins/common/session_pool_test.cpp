#include "plugins/common/session_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace credbroker::plugins::common {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// The pool's clock in these tests: moved by hand, never slept on.
clock::time_point fake_now = clock::time_point{} + 1000h;
clock::time_point now() { return fake_now; }

std::atomic<int> closed_sessions{0};
struct fake_session {
  explicit fake_session(int i) : id(i) {}
  ~fake_session() { ++closed_sessions; }
  int id;
  bool healthy = true;
};
using session = std::unique_ptr<fake_session>;
using pool = session_pool<session>;

pool_limits limits(std::size_t max_open, std::size_t max_idle, std::chrono::seconds lifetime = 0s,
                   std::chrono::seconds idle_time = 0s) {
  pool_limits l;
  l.max_open = max_open;
  l.max_idle = max_idle;
  l.max_lifetime = lifetime;
  l.max_idle_time = idle_time;
  return l;
}

// A deadline already past: acquire() never waits on it.
clock::time_point past() { return clock::now() - 1s; }

// Takes a slot and "opens" a session in it, as a plugin does.
pool::entry open_one(pool& p, int id) {
  auto got = p.acquire(past());
  EXPECT_TRUE(got);
  EXPECT_TRUE(got.fresh);
  got.e.session = std::make_unique<fake_session>(id);
  return std::move(got.e);
}

class session_pool_test : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_now = clock::time_point{} + 1000h;
    closed_sessions = 0;
  }
};

TEST_F(session_pool_test, refuses_before_open_and_after_close) {
  pool p(&now);
  EXPECT_EQ(p.acquire(past()).refused, pool::refusal::not_open);
  EXPECT_EQ(p.counts().max_open, 0u);
  p.open(limits(2, 2));
  EXPECT_EQ(p.counts().max_open, 2u);
  auto e = open_one(p, 1);
  p.close();
  EXPECT_EQ(p.acquire(past()).refused, pool::refusal::not_open);
  (void)p.give_back(std::move(e), false);  // of the closed generation: not kept, closed
  EXPECT_EQ(closed_sessions, 1);
  EXPECT_EQ(p.counts().open, 0u);
}

TEST_F(session_pool_test, caps_open_sessions_and_reuses_the_idle_one) {
  pool p(&now);
  p.open(limits(2, 2));
  auto a = open_one(p, 1);
  auto b = open_one(p, 2);
  EXPECT_EQ(p.counts().open, 2u);
  EXPECT_EQ(p.counts().in_use, 2u);
  EXPECT_EQ(p.acquire(past()).refused, pool::refusal::timed_out);
  (void)p.give_back(std::move(a), false);
  EXPECT_EQ(p.counts().in_use, 1u);
  auto again = p.acquire(past());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again.fresh);
  EXPECT_EQ(again.e.session->id, 1);
  EXPECT_EQ(closed_sessions, 0);
  (void)p.give_back(std::move(again.e), false);
  (void)p.give_back(std::move(b), false);
}

TEST_F(session_pool_test, a_waiter_gets_the_session_given_back) {
  pool p(&now);
  p.open(limits(1, 1));
  auto a = open_one(p, 7);
  std::promise<int> got_id;
  std::thread waiter([&] {
    auto got = p.acquire(clock::now() + 1h);
    got_id.set_value(got ? got.e.session->id : -1);
    if (got) (void)p.give_back(std::move(got.e), false);
  });
  while (p.counts().waiters == 0) std::this_thread::yield();
  (void)p.give_back(std::move(a), false);
  EXPECT_EQ(got_id.get_future().get(), 7);
  waiter.join();
  EXPECT_EQ(p.counts().waiters, 0u);
}

TEST_F(session_pool_test, close_wakes_a_waiter_with_closed) {
  pool p(&now);
  p.open(limits(1, 1));
  auto a = open_one(p, 1);
  std::promise<pool::refusal> why;
  std::thread waiter([&] { why.set_value(p.acquire(clock::now() + 1h).refused); });
  while (p.counts().waiters == 0) std::this_thread::yield();
  p.close();
  EXPECT_EQ(why.get_future().get(), pool::refusal::closed);
  waiter.join();
}

TEST_F(session_pool_test, a_broken_or_unusable_session_frees_its_slot) {
  pool p(&now);
  p.open(limits(1, 1));
  auto a = open_one(p, 1);
  (void)p.give_back(std::move(a), true);
  EXPECT_EQ(closed_sessions, 1);
  EXPECT_EQ(p.counts().open, 0u);
  auto b = open_one(p, 2);
  b.session->healthy = false;
  (void)p.give_back(std::move(b), false);
  auto c = p.acquire(past(), [](const session& s) { return s->healthy; });
  ASSERT_TRUE(c);
  EXPECT_TRUE(c.fresh);  // the unhealthy idle one was closed instead of handed out
  EXPECT_EQ(closed_sessions, 2);
  p.abandon(c.e.generation);  // opening failed
  EXPECT_EQ(p.counts().open, 0u);
}

TEST_F(session_pool_test, keeps_at_most_max_idle) {
  pool p(&now);
  p.open(limits(3, 1));
  auto a = open_one(p, 1);
  auto b = open_one(p, 2);
  (void)p.give_back(std::move(a), false);
  (void)p.give_back(std::move(b), false);
  EXPECT_EQ(p.idle(), 1u);
  EXPECT_EQ(closed_sessions, 1);
  EXPECT_EQ(p.counts().open, 1u);
}

TEST_F(session_pool_test, a_new_generation_closes_idle_and_uncounts_checked_out) {
  pool p(&now);
  p.open(limits(2, 2));
  auto a = open_one(p, 1);
  auto b = open_one(p, 2);
  (void)p.give_back(std::move(a), false);
  p.renew(limits(2, 2));
  EXPECT_EQ(closed_sessions, 1);  // the idle one
  EXPECT_EQ(p.counts().open, 0u);
  (void)p.give_back(std::move(b), false);  // of the old generation: closed, not counted
  EXPECT_EQ(closed_sessions, 2);
  EXPECT_EQ(p.counts().open, 0u);
  // A slot taken before the renewal is counted in the new pool once recounted.
  auto c = p.acquire(past());
  std::uint64_t gen = c.e.generation;
  p.renew(limits(2, 2));
  ASSERT_TRUE(p.recount(gen));
  EXPECT_NE(gen, c.e.generation);
  EXPECT_EQ(p.counts().open, 1u);
  p.close();
  EXPECT_FALSE(p.recount(gen));
}

TEST_F(session_pool_test, lifetime_and_idle_time_reaping_on_the_pools_clock) {
  pool p(&now);
  p.open(limits(2, 2, 60s, 10s));
  auto a = open_one(p, 1);
  fake_now += 5s;
  const auto due = p.give_back(std::move(a), false);
  EXPECT_EQ(due, fake_now + 10s);  // idle time comes before the lifetime (created + 60 s)
  EXPECT_EQ(p.reap(fake_now + 9s), due);
  EXPECT_EQ(p.idle(), 1u);
  EXPECT_EQ(p.reap(due), clock::time_point::max());
  EXPECT_EQ(p.idle(), 0u);
  EXPECT_EQ(closed_sessions, 1);
  EXPECT_EQ(p.counts().open, 0u);

  // Past its lifetime a session is neither kept nor handed out.
  auto b = open_one(p, 2);
  fake_now += 61s;
  EXPECT_EQ(p.give_back(std::move(b), false), clock::time_point::max());
  EXPECT_EQ(closed_sessions, 2);
  auto c = open_one(p, 3);
  fake_now += 30s;
  (void)p.give_back(std::move(c), false);
  fake_now += 31s;
  auto d = p.acquire(past());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d.fresh);
  EXPECT_EQ(closed_sessions, 3);
  p.abandon(d.e.generation);
}

TEST_F(session_pool_test, keeps_none_idle_for_a_while_after_a_refusal) {
  pool p(&now);
  p.open(limits(2, 2));
  auto a = open_one(p, 1);
  auto b = open_one(p, 2);
  (void)p.give_back(std::move(a), false);
  p.keep_no_idle_until(fake_now + 60s);
  EXPECT_EQ(closed_sessions, 1);
  EXPECT_EQ(p.counts().open, 1u);
  (void)p.give_back(std::move(b), false);
  EXPECT_EQ(closed_sessions, 2);
  EXPECT_EQ(p.counts().open, 0u);
  fake_now += 60s;
  auto c = open_one(p, 3);
  (void)p.give_back(std::move(c), false);
  EXPECT_EQ(p.idle(), 1u);
}

}  // namespace
}  // namespace credbroker::plugins::common
