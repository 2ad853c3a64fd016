#pragma once
// sqlite_backend: the embedded store. One SQLite file (WAL mode, synchronous=FULL) in the data
// directory; table kv(key TEXT PRIMARY KEY, value BLOB).
//
// Group commit: every write (put, remove, apply) is queued to one writer thread. The writer takes
// everything queued (up to max_batch writes), runs it in ONE transaction and commits with ONE fsync.
// If anything in the batch fails, nothing of it is stored and each write is retried in its own
// transaction, so one failing write never fails its neighbours. Each caller blocks until the
// transaction holding its write has committed, then learns its own result.
// While one batch is fsyncing, the next one gathers, so batches grow with load and no timer or delay
// is needed.
//
//   writers:  w1 w2 w3 ... w64  ──queue──▶  writer thread: BEGIN; w1..w64; COMMIT (1 fsync)
//                                           then wakes w1..w64 with their own status
//
// Reads go to a small pool of separate connections (WAL readers never block the writer).
// Thread: all methods are safe to call from any thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "broker/storage/physical.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace credbroker::storage {

struct sqlite_options {
  std::string path;             // the database file; its directory is created (0700) if missing
  std::size_t max_batch = 4096;  // writes per transaction
  int busy_timeout_ms = 5000;    // another process holding the lock
  std::int64_t max_page_count = 0;  // test hook: > 0 makes SQLite report "disk full" beyond it
  unsigned read_connections = 4;
};

class sqlite_backend final : public physical {
 public:
  // Opens (or creates) the file. Errors: unreadable/unwritable path, not a database, corrupt file.
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
    std::promise<status> done;
    bool lazy = false;  // nobody waits: a failure is logged
  };
  explicit sqlite_backend(sqlite_options options);
  status init_writer();
  void writer_loop();
  void commit_batch(std::vector<std::unique_ptr<pending>>& batch);
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
  std::condition_variable cv_;
  std::deque<std::unique_ptr<pending>> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> committed_writes_{0};
};

}  // namespace credbroker::storage
