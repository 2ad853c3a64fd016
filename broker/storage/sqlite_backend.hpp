#pragma once
// sqlite_backend: the embedded store. One SQLite file (WAL mode, synchronous=FULL) in the data
// directory; table kv(key TEXT PRIMARY KEY, value BLOB).
//
// Group commit, leader/follower: every write (put, remove, apply) joins one queue. A caller that
// finds no commit running becomes the leader: it takes everything queued (up to max_batch writes),
// runs it in ONE transaction and commits with ONE fsync, on its own thread; the others (followers)
// wait for the leader, then return or lead the next batch. If anything in a batch fails, nothing of
// it is stored and each write is retried in its own transaction, so one failing write never fails
// its neighbours; each caller learns its own result. While one batch is fsyncing, the next one
// gathers, so batches grow with load, and a lone writer commits without any thread hand-off.
//
//   w1 finds the queue idle:  leader   BEGIN; w1; COMMIT                           (no wake-up)
//   w2..w9 arrive meanwhile:  queued;  w1 done -> w2 leads BEGIN; w2..w9; COMMIT -> wakes w3..w9
//
// Lazy writes (apply_lazy) join the same queue, in order, and ride along with the next batch; a
// background flusher commits leftovers after lazy_flush_delay when no durable write came by.
//
// Reads go to a small pool of separate connections (WAL readers never block the writer).
// Checkpoints run on a background thread (PASSIVE, woken when the WAL reaches checkpoint_frames), so
// no commit waits for the bulk of one; at twice that size the leader completes one between
// transactions so the WAL is reset (a PASSIVE checkpoint racing continuous writers never completes).
// Thread: all methods are safe to call from any thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "broker/storage/physical.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace credbroker::storage {

struct sqlite_options {
  std::string path;             // the database file; its directory is created (0700) if missing
  // An existing 0-byte database file is a store that lost its data (truncated, or replaced by an
  // empty file), so open() refuses it unless this is set (server -fresh-store): SQLite would make it
  // a new, uninitialised store that anyone could initialise.
  bool accept_empty_file = false;
  std::size_t max_batch = 4096;  // writes per transaction
  int busy_timeout_ms = 5000;    // another process holding the lock
  std::int64_t max_page_count = 0;  // test hook: > 0 makes SQLite report "disk full" beyond it
  unsigned read_connections = 4;
  std::chrono::milliseconds lazy_flush_delay{20};  // lazy writes no batch took are committed after this
  int checkpoint_frames = 1000;  // the WAL size (pages) that wakes the background checkpointer
};

class sqlite_backend final : public physical {
 public:
  // Opens (or creates) the file. The directory and files it creates are private (0700, 0600).
  // Errors: unreadable/unwritable path, not a database, corrupt file (errc::storage_failure);
  // an existing 0-byte file (errc::integrity_failure, see accept_empty_file); a database file (or
  // its -wal, -shm) that group or others may read or write, or a directory they may write to
  // (errc::invalid_request: a configuration error, with the chmod to run). A directory they may
  // only list (0755) is accepted with a warning.
  static result<std::unique_ptr<sqlite_backend>> open(const sqlite_options& options);
  ~sqlite_backend() override;

  result<std::optional<std::string>> get(const std::string& key) override;
  result<std::vector<std::string>> list(const std::string& prefix) override;
  status apply(std::vector<operation> ops) override;
  // Queued like apply(), committed with the next batch; the caller does not wait for the fsync.
  void apply_lazy(std::vector<operation> ops) override;
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override;

  // Counters for tests and benchmarks: committed transactions and the writes they carried.
  std::uint64_t commits() const;
  std::uint64_t committed_writes() const;

 private:
  struct reader;
  struct pending {
    std::vector<operation> ops;
    status result = ok_v;
    bool done = false;  // set under mu_ by the leader that committed it
    bool lazy = false;  // owned by the queue (nobody waits): a failure is logged
    std::condition_variable* wake = nullptr;  // the waiting caller's own (sync writes): no herd
  };
  explicit sqlite_backend(sqlite_options options);
  status init_writer();
  void flusher_loop();
  void checkpoint_loop();
  // Takes the next batch from the queue, commits it with mu_ released, marks it done. Requires
  // lock held and !committing_; returns with lock held.
  void lead(std::unique_lock<std::mutex>& lock);
  void commit_batch(const std::vector<pending*>& batch);
  credbroker::status run_ops(const pending& p);
  credbroker::status transact(const std::vector<pending*>& items);
  reader& acquire_reader(std::unique_lock<std::mutex>& lock);

  sqlite_options options_;
  sqlite3* writer_db_ = nullptr;
  sqlite3_stmt* put_stmt_ = nullptr;
  sqlite3_stmt* delete_stmt_ = nullptr;
  std::vector<std::unique_ptr<reader>> readers_;
  std::atomic<unsigned> next_reader_{0};

  std::mutex mu_;
  std::condition_variable flusher_cv_;  // lazy writes are waiting, or a batch finished
  bool flusher_waiting_ = false;        // the flusher waits for a leader to finish
  std::deque<pending*> queue_;
  bool committing_ = false;  // a leader holds the writer connection
  bool lazy_armed_ = false;  // the flusher will look after lazy_flush_delay
  bool stopping_ = false;
  std::thread flusher_;
  sqlite3* checkpoint_db_ = nullptr;
  std::mutex checkpoint_mu_;      // guards checkpoint_due_ / checkpoint_stop_
  std::mutex checkpoint_run_mu_;  // one checkpoint of the file at a time; taken with no other lock held
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;
  bool checkpoint_stop_ = false;
  std::atomic<int> wal_frames_{0};  // WAL size after the last commit (the WAL hook)
  std::thread checkpointer_;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> committed_writes_{0};
};

}  // namespace credbroker::storage
