#pragma once
// group_commit: leader/follower batching of durable writes for a backend whose commit is the
// expensive part (an fsync, a network round trip plus the server's WAL flush).
//
// Every write (apply) joins one queue. A caller that finds no commit running becomes the leader: it
// takes what is queued (up to max_ops operations and max_bytes of keys and values, at least one
// write), hands it to the backend's committer on its own thread, and wakes each writer of the batch
// with its own result; the next queued writer then leads. While one batch commits, the next
// gathers, so batches grow with load, and a lone writer commits without any thread hand-off:
//
//   w1 finds the queue idle:  leader   commit([w1])                          (no wake-up)
//   w2..w9 arrive meanwhile:  queued;  w1 done -> w1 leads commit([w2..w9]) too -> wakes w2..w9
//
// A leader whose own write is done leads up to 3 more batches while writers are queued (it is
// running already; waking the next leader would cost a scheduling delay per batch), then hands
// off to the oldest queued writer.
//
// Lazy writes (apply_lazy) join the same queue in order and ride with the next batch; the caller
// does not wait. A background flusher commits leftovers after lazy_flush_delay when no durable write
// came by. A lazy write's failure is logged, never returned.
//
// Ordering: one batch commits at a time, batches leave the queue in arrival order and each batch
// lists its writes in arrival order, so a write that returned is ordered before every later one.
// The committer must keep that order inside a batch (later writes of a key win).
// Thread: apply/apply_lazy from any thread; the committer runs on one thread at a time.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/storage/physical.hpp"

namespace credbroker::storage {

struct group_commit_options {
  std::size_t max_ops = 4096;                      // operations per batch
  std::size_t max_bytes = 64 * 1024 * 1024;        // keys + values per batch (one oversized write still goes alone)
  std::chrono::milliseconds lazy_flush_delay{20};  // lazy writes no batch took are committed after this
};

class group_commit {
 public:
  struct item {
    explicit item(const std::vector<operation>* o) : ops(o) {}
    const std::vector<operation>* ops;
    status result = ok_v;  // set by the committer
  };
  // Commits the batch as one atomic step, or reports why not in each item's result (an item whose
  // result is ok is durable). Never called concurrently with itself.
  using committer = std::function<void(std::vector<item>& batch)>;

  group_commit(group_commit_options options, committer commit);
  ~group_commit();  // close()
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  status apply(std::vector<operation> ops);
  void apply_lazy(std::vector<operation> ops);
  // Commits everything still queued, stops the flusher; later writes fail ("storage is closed").
  void close();
  // Writes waiting in the queue (not counting a batch being committed): for tests and metrics.
  std::size_t queued() const;

 private:
  struct pending {
    std::vector<operation> ops;
    std::size_t bytes = 0;
    status result = ok_v;
    bool done = false;                        // set under mu_ by the leader that committed it
    bool lazy = false;                        // owned by the queue: nobody waits for it
    std::condition_variable* wake = nullptr;  // the waiting caller's own (no thundering herd)
  };
  static std::size_t bytes_of(const std::vector<operation>& ops);
  // Takes the next batch, commits it with mu_ released, marks it done. Requires lock held and
  // !committing_; returns with lock held. The caller then leads again or calls hand_off().
  void lead(std::unique_lock<std::mutex>& lock);
  // Wakes the oldest queued durable writer to lead the next batch (and the flusher if it waits).
  // Requires lock held.
  void hand_off();
  void flusher_loop();

  const group_commit_options options_;
  const committer commit_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable flusher_cv_;
  std::deque<pending*> queue_;
  bool committing_ = false;
  bool flusher_waiting_ = false;
  bool lazy_armed_ = false;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace credbroker::storage
