#pragma once
// blocking_executor: where blocking calls run (libpqxx, hiredis, storage reads, fsync waits) — a
// fixed number of threads, and per key a cap and a FIFO queue. A key names one thing that limits
// concurrency, by convention "<mount>|<connection>" for a database connection (cap: its pool size),
// so a hung database fills only its own key's slots and every other key keeps its throughput.
//
// SPEC
//   post(key, task)        task(true) runs on a worker once (a) every task posted earlier to the same
//                          key has started (FIFO per key) and (b) fewer than cap(key) tasks of the key
//                          are running. Runnable keys take turns, one task per turn (round robin).
//   submit(key, fn, done)  done(fn()) on the worker; fn returns a result<T> or a status
//   run(key, fn)           the same for an Asio coroutine: `status s = co_await exec.run(key, fn);`
//                          resumes on the awaiting coroutine's executor, never on a worker
//   call(key, fn)          the same for a thread that may block: waits and returns fn's result. On one
//                          of this executor's own threads fn runs inline instead (waiting there for
//                          a slot could deadlock the pool), outside the key's cap
//   set_cap(key, n)        that key's cap from now on (>= 1); other keys get options.default_cap and
//                          are forgotten when idle
//   wait_idle()            returns once nothing is queued or running (not from a task)
//   stop()                 tasks not yet started are cancelled — task(false): done() and run() receive
//                          errc::unavailable "shutting down: ..." — running tasks finish, the threads
//                          are joined; later posts are cancelled at once. Idempotent; the destructor
//                          calls it; not from a task. A cancelled task runs its cancellation on the
//                          thread that called stop() (or post()).
//
// WORKED EXAMPLE (threads 4, default_cap 2)
//   post("a", A1..A5) where A1, A2 hang; post("b", B1..B3).
//   A1 and A2 start (cap 2); A3..A5 wait in a's queue. B1 and B2 start on the two free threads, B3
//   when either ends: key b runs at full speed while a is stuck. Once A1 returns, A3 starts (FIFO).
//
// Isolation holds while threads outnumber the slots of the hung keys: a key holds at most cap(key)
// threads, so with T threads and hung keys of caps c1..ck the others keep T - (c1 + ... + ck).
// Default: 32 threads (docs/architecture.md says why).
//
// Thread: all methods are safe concurrently. mu_ (queues and counters) is a leaf lock: no task, done
// or cancellation runs under it.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <boost/asio/use_awaitable.hpp>
#endif

#include "broker/core/result.hpp"

namespace credbroker {

// The error every cancelled call completes with.
inline error executor_cancelled() {
  return make_error(errc::unavailable, "shutting down: the call was cancelled before it started");
}

class blocking_executor {
 public:
  struct options {
    unsigned threads = 32;
    unsigned default_cap = 4;
  };

  // A move-only callable void(bool run): run == false means cancelled (never started).
  class task {
   public:
    task() = default;
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, task>>>
    explicit task(F f) : p_(std::make_unique<impl<F>>(std::move(f))) {}
    void operator()(bool run) { p_->call(run); }
    explicit operator bool() const { return p_ != nullptr; }

   private:
    struct base {
      virtual ~base() = default;
      virtual void call(bool run) = 0;
    };
    template <class F>
    struct impl final : base {
      explicit impl(F fn) : f(std::move(fn)) {}
      void call(bool run) override { f(run); }
      F f;
    };
    std::unique_ptr<base> p_;
  };

  explicit blocking_executor(options o);
  blocking_executor(const blocking_executor&) = delete;
  blocking_executor& operator=(const blocking_executor&) = delete;
  ~blocking_executor();

  void post(std::string_view key, task t);

  template <class F, class Done>
  void submit(std::string_view key, F fn, Done done) {
    using R = std::invoke_result_t<F&>;
    post(key, task([fn = std::move(fn), done = std::move(done)](bool run) mutable {
      if (run) {
        done(fn());
      } else {
        done(R(executor_cancelled()));
      }
    }));
  }

  template <class F>
  std::invoke_result_t<F&> call(std::string_view key, F fn) {
    using R = std::invoke_result_t<F&>;
    if (running_in_this_thread()) return fn();
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    submit(key, std::move(fn), [promise](R r) { promise->set_value(std::move(r)); });
    return future.get();
  }

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
  template <class F, class Token = boost::asio::use_awaitable_t<>>
#else
  template <class F, class Token>  // clang with Boost 1.74's Asio has no co_await (the fuzz build): name a token
#endif
  auto run(std::string key, F fn, Token&& token = {}) {
    using R = std::invoke_result_t<F&>;
    return boost::asio::async_initiate<Token, void(R)>(
        [this](auto handler, std::string k, F f) {
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
          post(k, task([f = std::move(f), handler = std::move(handler), work = std::move(work)](bool run) mutable {
            R r = run ? f() : R(executor_cancelled());
            auto ex = work.get_executor();
            boost::asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
              std::move(handler)(std::move(r));
            });
            work.reset();
          }));
        },
        token, std::move(key), std::move(fn));
  }

  void set_cap(const std::string& key, unsigned cap);
  bool running_in_this_thread() const;
  void wait_idle();
  void stop();

  unsigned threads() const { return threads_n_; }
  struct key_stats {
    std::size_t queued = 0;
    unsigned running = 0;
    unsigned cap = 0;
  };
  key_stats stats(std::string_view key) const;

 private:
  struct lane {
    std::string key;
    unsigned cap = 1;
    bool fixed_cap = false;  // set_cap was called: kept when idle
    unsigned running = 0;
    bool runnable = false;   // in runnable_
    std::deque<task> queue;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void worker();
  lane& lane_locked(std::string_view key);
  void make_runnable_locked(lane& l);

  const unsigned threads_n_;
  const unsigned default_cap_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a key became runnable, or stop
  std::condition_variable idle_cv_;  // queued_ and running_ reached 0
  std::unordered_map<std::string, std::unique_ptr<lane>, key_hash, std::equal_to<>> lanes_;
  std::deque<lane*> runnable_;  // keys with a queued task and a free slot, in turn order
  std::size_t queued_ = 0;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: started after the rest exists
};

}  // namespace credbroker
