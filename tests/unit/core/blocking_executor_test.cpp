#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "broker/core/blocking_executor.hpp"

using namespace credbroker;

namespace {

// A gate tasks wait at until the test opens it; with a counter of tasks that reached it.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void pass() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  // Waits (60 s safety net) until n tasks wait at the gate.
  bool reached(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return waiting >= n; });
  }
};

// Counts completions and lets the test wait for a number of them.
struct counter {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  void add() {
    std::lock_guard lock(mu);
    ++n;
    cv.notify_all();
  }
  bool reached(int want) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return n >= want; });
  }
};

TEST(blocking_executor, a_blocked_key_fills_only_its_own_slots) {
  blocking_executor exec({4, 2});
  gate hung;
  counter b_done;
  std::atomic<int> a_started{0};
  for (int i = 0; i < 5; ++i) {
    exec.post("db|a", blocking_executor::task([&](bool run) {
      if (!run) return;
      ++a_started;
      hung.pass();
    }));
  }
  ASSERT_TRUE(hung.reached(2));
  for (int i = 0; i < 200; ++i) {
    exec.submit("db|b", [] { return status(ok_v); }, [&](status s) {
      EXPECT_TRUE(s);
      b_done.add();
    });
  }
  ASSERT_TRUE(b_done.reached(200));  // key b ran to the end while a held its two slots
  EXPECT_EQ(a_started.load(), 2);    // a never went above its cap ...
  EXPECT_EQ(exec.stats("db|a").queued, 3u);  // ... its other tasks wait in its own queue
  EXPECT_EQ(exec.stats("db|a").running, 2u);
  hung.release();
  exec.wait_idle();
  EXPECT_EQ(a_started.load(), 5);
}

TEST(blocking_executor, caps_are_respected_and_reached) {
  blocking_executor exec({8, 4});
  exec.set_cap("capped", 3);
  std::mutex mu;
  std::map<std::string, int> running, peak;
  gate start;
  auto task_of = [&](std::string key) {
    return blocking_executor::task([&, key](bool run) {
      if (!run) return;
      {
        std::lock_guard lock(mu);
        peak[key] = std::max(peak[key], ++running[key]);
      }
      start.pass();
      std::lock_guard lock(mu);
      --running[key];
    });
  };
  for (int i = 0; i < 20; ++i) exec.post("capped", task_of("capped"));
  for (int i = 0; i < 20; ++i) exec.post("default", task_of("default"));
  ASSERT_TRUE(start.reached(7));  // 3 + 4 waiting at once: every slot taken, 1 thread idle
  start.release();
  exec.wait_idle();
  EXPECT_EQ(peak["capped"], 3);
  EXPECT_EQ(peak["default"], 4);
  EXPECT_EQ(exec.stats("capped").cap, 3u);
}

TEST(blocking_executor, fifo_per_key_and_keys_take_turns) {
  blocking_executor exec({1, 1});
  gate first;
  std::vector<std::string> order;
  std::mutex mu;
  exec.post("x", blocking_executor::task([&](bool run) {
    if (run) first.pass();
  }));
  ASSERT_TRUE(first.reached(1));  // the only thread is busy: everything below queues
  for (int i = 0; i < 3; ++i) {
    for (const char* key : {"k1", "k2"}) {
      exec.post(key, blocking_executor::task([&, key, i](bool run) {
        if (!run) return;
        std::lock_guard lock(mu);
        order.push_back(std::string(key) + "." + std::to_string(i));
      }));
    }
  }
  first.release();
  exec.wait_idle();
  EXPECT_EQ(order, (std::vector<std::string>{"k1.0", "k2.0", "k1.1", "k2.1", "k1.2", "k2.2"}));
}

TEST(blocking_executor, stop_cancels_what_has_not_started_and_lets_running_tasks_finish) {
  auto exec = std::make_unique<blocking_executor>(blocking_executor::options{2, 1});
  gate hold;
  std::atomic<bool> finished{false};
  exec->post("a", blocking_executor::task([&](bool run) {
    if (!run) return;
    hold.pass();
    finished = true;
  }));
  ASSERT_TRUE(hold.reached(1));
  std::vector<status> results;
  std::mutex mu;
  counter done;
  for (int i = 0; i < 3; ++i) {
    exec->submit("a", [] { return status(ok_v); }, [&](status s) {
      {
        std::lock_guard lock(mu);
        results.push_back(std::move(s));
      }
      done.add();
    });
  }
  std::thread stopper([&] { exec->stop(); });
  // The queued ones are cancelled at once, while the running one still holds its slot.
  ASSERT_TRUE(done.reached(3));
  EXPECT_FALSE(finished.load());
  hold.release();
  stopper.join();  // stop() returns once the running task finished
  EXPECT_TRUE(finished.load());
  for (const auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, make_error_code(errc::unavailable));
    EXPECT_EQ(r.err().message, "shutting down: the call was cancelled before it started");
  }
  // After stop, a post is cancelled at once, on the caller's thread.
  bool cancelled = false;
  exec->post("b", blocking_executor::task([&](bool run) { cancelled = !run; }));
  EXPECT_TRUE(cancelled);
  exec->stop();  // idempotent
  exec.reset();
}

TEST(blocking_executor, call_waits_for_its_result_and_runs_inline_on_a_worker) {
  blocking_executor exec({2, 1});
  auto r = exec.call("k", [] { return result<int>(42); });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
  // From a task of the same key (its only slot taken by the caller): inline, no deadlock.
  auto nested = exec.call("k", [&] {
    EXPECT_TRUE(exec.running_in_this_thread());
    return exec.call("k", [] { return result<int>(7); });
  });
  ASSERT_TRUE(nested);
  EXPECT_EQ(*nested, 7);
  EXPECT_FALSE(exec.running_in_this_thread());
}

TEST(blocking_executor, run_resumes_the_coroutine_on_its_own_executor) {
  blocking_executor exec({2, 2});
  boost::asio::io_context io;
  std::thread::id io_thread, worker_thread, resumed_on;
  result<int> got = make_error(errc::internal, "not run");
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        got = co_await exec.run("db|k", [&] {
          worker_thread = std::this_thread::get_id();
          return result<int>(5);
        });
        resumed_on = std::this_thread::get_id();
      },
      boost::asio::detached);
  io_thread = std::this_thread::get_id();
  io.run();  // returns once the coroutine ended: the pending run() held the io_context's work
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 5);
  EXPECT_NE(worker_thread, io_thread);  // the blocking call ran on a worker ...
  EXPECT_EQ(resumed_on, io_thread);     // ... and the coroutine resumed where it awaits
}

TEST(blocking_executor, run_after_stop_resumes_with_the_cancellation) {
  blocking_executor exec({1, 1});
  exec.stop();
  boost::asio::io_context io;
  status got = ok_v;
  bool ran = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        got = co_await exec.run("k", [&] {
          ran = true;
          return status(ok_v);
        });
      },
      boost::asio::detached);
  io.run();
  EXPECT_FALSE(ran);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.err().code, make_error_code(errc::unavailable));
}

}  // namespace
