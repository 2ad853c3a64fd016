// group_commit with a recording committer: who leads, what rides in which batch, results per
// writer, lazy writes, close().
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "broker/storage/group_commit.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

std::vector<operation> put(const std::string& key) {
  std::vector<operation> ops;
  ops.push_back(operation::put(key, "v"));
  return ops;
}

// Records every batch (the first key of each write); can hold the next commit until released, and
// fails writes whose key starts with "bad".
class recorder {
 public:
  void operator()(std::vector<group_commit::item>& batch) {
    std::unique_lock lock(mu_);
    std::vector<std::string> keys;
    for (auto& item : batch) {
      keys.push_back(item.ops->front().key);
      if (keys.back().rfind("bad", 0) == 0) item.result = make_error(errc::storage_failure, "refused " + keys.back());
    }
    batches_.push_back(keys);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
  }
  void hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void wait_entered(int n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= n; }));
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int entered_ = 0;
  std::vector<std::vector<std::string>> batches_;
};

void wait_queued(const group_commit& q, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (q.queued() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(q.queued(), n);
}

TEST(group_commit, a_lone_writer_commits_alone_on_its_own_thread) {
  recorder r;
  std::thread::id committer_thread;
  group_commit q({}, [&](std::vector<group_commit::item>& b) {
    committer_thread = std::this_thread::get_id();
    r(b);
  });
  ASSERT_TRUE(q.apply(put("a")).ok());
  ASSERT_TRUE(q.apply(put("b")).ok());
  EXPECT_EQ(committer_thread, std::this_thread::get_id());
  EXPECT_EQ(r.batches(), (std::vector<std::vector<std::string>>{{"a"}, {"b"}}));
}

TEST(group_commit, writers_queued_behind_a_commit_share_the_next_one_in_arrival_order) {
  recorder r;
  group_commit q({}, std::ref(r));
  r.hold(true);
  auto first = std::async(std::launch::async, [&] { return q.apply(put("w0")).ok(); });
  r.wait_entered(1);
  std::vector<std::future<bool>> rest;
  for (int i = 1; i <= 5; ++i) {
    rest.push_back(std::async(std::launch::async, [&q, i] { return q.apply(put("w" + std::to_string(i))).ok(); }));
    wait_queued(q, static_cast<std::size_t>(i));  // arrival order is the order below
  }
  r.hold(false);
  EXPECT_TRUE(first.get());
  for (auto& f : rest) EXPECT_TRUE(f.get());
  EXPECT_EQ(r.batches(), (std::vector<std::vector<std::string>>{{"w0"}, {"w1", "w2", "w3", "w4", "w5"}}));
}

TEST(group_commit, each_writer_gets_its_own_result) {
  recorder r;
  group_commit q({}, std::ref(r));
  r.hold(true);
  auto first = std::async(std::launch::async, [&] { return q.apply(put("lead")); });
  r.wait_entered(1);
  auto good = std::async(std::launch::async, [&] { return q.apply(put("good")); });
  wait_queued(q, 1);
  auto bad = std::async(std::launch::async, [&] { return q.apply(put("bad-one")); });
  wait_queued(q, 2);
  r.hold(false);
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(good.get().ok());
  auto b = bad.get();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.err().message, "refused bad-one");
}

TEST(group_commit, batches_are_bounded_by_operations_and_bytes) {
  recorder r;
  group_commit_options o;
  o.max_ops = 3;
  o.max_bytes = 1 << 20;
  group_commit q(o, std::ref(r));
  r.hold(true);
  auto first = std::async(std::launch::async, [&] { return q.apply(put("x")).ok(); });
  r.wait_entered(1);
  std::vector<std::future<bool>> rest;
  for (int i = 0; i < 5; ++i) {
    rest.push_back(std::async(std::launch::async, [&q, i] { return q.apply(put("q" + std::to_string(i))).ok(); }));
    wait_queued(q, static_cast<std::size_t>(i + 1));
  }
  // A write bigger than max_bytes still goes, alone.
  auto big = std::async(std::launch::async, [&] {
    std::vector<operation> ops;
    ops.push_back(operation::put("big", std::string(2 << 20, 'b')));
    return q.apply(std::move(ops)).ok();
  });
  wait_queued(q, 6);
  r.hold(false);
  EXPECT_TRUE(first.get());
  for (auto& f : rest) EXPECT_TRUE(f.get());
  EXPECT_TRUE(big.get());
  EXPECT_EQ(r.batches(), (std::vector<std::vector<std::string>>{{"x"}, {"q0", "q1", "q2"}, {"q3", "q4"}, {"big"}}));
}

TEST(group_commit, lazy_writes_ride_with_the_next_durable_write_or_the_flusher) {
  recorder r;
  group_commit_options o;
  o.lazy_flush_delay = std::chrono::hours(1);  // the flusher never fires in this test's time
  group_commit q(o, std::ref(r));
  q.apply_lazy(put("lazy1"));
  q.apply_lazy(put("lazy2"));
  ASSERT_TRUE(q.apply(put("durable")).ok());
  EXPECT_EQ(r.batches(), (std::vector<std::vector<std::string>>{{"lazy1", "lazy2", "durable"}}));
  q.apply_lazy(put("leftover"));
  q.close();  // commits what is queued
  EXPECT_EQ(r.batches().back(), std::vector<std::string>{"leftover"});
  auto after = q.apply(put("late"));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.err().message, "storage is closed");
}

TEST(group_commit, the_flusher_commits_lazy_writes_nobody_carried) {
  recorder r;
  group_commit_options o;
  o.lazy_flush_delay = std::chrono::milliseconds(1);
  group_commit q(o, std::ref(r));
  q.apply_lazy(put("alone"));
  r.wait_entered(1);
  EXPECT_EQ(r.batches(), (std::vector<std::vector<std::string>>{{"alone"}}));
}

}  // namespace
