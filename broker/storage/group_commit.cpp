#include "broker/storage/group_commit.hpp"

#include <spdlog/spdlog.h>

#include "broker/storage/commit_metrics.hpp"

namespace credbroker::storage {
namespace {
constexpr int max_extra_batches = 3;  // batches a leader commits for others after its own
}  // namespace

group_commit::group_commit(group_commit_options options, committer commit)
    : options_(options), commit_(std::move(commit)) {
  flusher_ = std::thread([this] { flusher_loop(); });
}

group_commit::~group_commit() { close(); }

void group_commit::close() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !flusher_.joinable()) return;
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();  // after committing what is still queued
}

std::size_t group_commit::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t group_commit::bytes_of(const std::vector<operation>& ops) {
  std::size_t n = 0;
  for (const auto& op : ops) n += op.key.size() + op.value.size();
  return n;
}

status group_commit::apply(std::vector<operation> ops) {
  if (ops.empty()) return ok_v;
  pending p;
  p.bytes = bytes_of(ops);
  p.ops = std::move(ops);
  std::condition_variable mine;  // woken when p is committed, or when it is p's turn to lead
  p.wake = &mine;
  std::unique_lock lock(mu_);
  if (stopping_) return make_error(errc::storage_failure, "storage is closed");
  queue_.push_back(&p);
  int led = 0;
  for (;;) {
    if (p.done) {
      // A leader whose own write is done keeps leading a few more batches while writers are queued:
      // it is already running, while handing off costs a wake-up of the next leader per batch (on a
      // busy machine, a scheduling delay as long as the commit itself).
      if (led > 0 && led <= max_extra_batches && !queue_.empty()) {
        lead(lock);
        ++led;
        continue;
      }
      if (led > 0) hand_off();
      return std::move(p.result);
    }
    if (!committing_) {
      lead(lock);
      ++led;
      continue;
    }
    mine.wait(lock);
  }
}

void group_commit::apply_lazy(std::vector<operation> ops) {
  if (ops.empty()) return;
  auto p = std::make_unique<pending>();
  p->bytes = bytes_of(ops);
  p->ops = std::move(ops);
  p->lazy = true;
  std::lock_guard lock(mu_);
  if (stopping_) {
    spdlog::error("lazy storage write of \"{}\" dropped: storage is closed", p->ops.front().key);
    return;
  }
  queue_.push_back(p.release());
  if (!lazy_armed_) {
    lazy_armed_ = true;
    flusher_cv_.notify_one();
  }
}

void group_commit::lead(std::unique_lock<std::mutex>& lock) {
  committing_ = true;
  std::vector<pending*> taken;
  std::size_t ops = 0, bytes = 0;
  while (!queue_.empty()) {
    const pending* next = queue_.front();
    if (!taken.empty() && (ops + next->ops.size() > options_.max_ops || bytes + next->bytes > options_.max_bytes)) break;
    ops += next->ops.size();
    bytes += next->bytes;
    taken.push_back(queue_.front());
    queue_.pop_front();
  }
  lock.unlock();
  std::vector<item> batch;
  batch.reserve(taken.size());
  for (pending* p : taken) batch.emplace_back(&p->ops);
  {
    const commit_measure measured(batch.size());  // credbroker_storage_commit_* (commit_metrics.hpp)
    commit_(batch);
  }
  lock.lock();
  for (std::size_t i = 0; i < taken.size(); ++i) {
    pending* p = taken[i];
    p->result = std::move(batch[i].result);
    if (p->lazy) {
      if (!p->result) spdlog::error("lazy storage write of \"{}\" failed: {}", p->ops.front().key, p->result.err().message);
      delete p;
    } else {
      p->done = true;  // its caller returns (and frees p) once it sees this: notified under the lock
      p->wake->notify_one();
    }
  }
  committing_ = false;
}

void group_commit::hand_off() {
  // Exactly one waiter leads next: the oldest durable write still queued (lazy ones ride with it).
  for (pending* p : queue_) {
    if (!p->lazy) {
      p->wake->notify_one();
      break;
    }
  }
  if (flusher_waiting_) flusher_cv_.notify_one();
}

void group_commit::flusher_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] { return stopping_ || lazy_armed_; });
    // Give durable writes a moment to carry the lazy ones along (one commit fewer each time).
    if (!stopping_) flusher_cv_.wait_for(lock, options_.lazy_flush_delay, [&] { return stopping_; });
    while (!queue_.empty()) {
      if (committing_) {
        flusher_waiting_ = true;
        flusher_cv_.wait(lock);
        flusher_waiting_ = false;
        continue;
      }
      lead(lock);
    }
    hand_off();
    lazy_armed_ = false;
    if (stopping_) {
      if (!committing_) return;
      flusher_waiting_ = true;  // a writer's batch is still committing: wait for it, then look again
      flusher_cv_.wait(lock);
      flusher_waiting_ = false;
    }
  }
}

}  // namespace credbroker::storage
