#include "broker/storage/sqlite_backend.hpp"

#include <spdlog/spdlog.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "broker/storage/commit_metrics.hpp"

namespace credbroker::storage {
namespace {

error sqlite_error(sqlite3* db, int rc, const std::string& what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return make_error(errc::storage_failure, what + ": " + (msg != nullptr ? msg : sqlite3_errstr(rc)));
}

status exec(sqlite3* db, const char* sql, const std::string& what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return make_error(errc::storage_failure, what + ": " + msg);
  }
  return ok_v;
}

result<sqlite3*> open_connection(const sqlite_options& o, bool writer) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(o.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto e = sqlite_error(db, rc, "cannot open storage file \"" + o.path + "\"");
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, o.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  const std::string where = "storage file \"" + o.path + "\"";
  // journal_mode=WAL is persistent; asking again is cheap and confirms the file is a database.
  sqlite3_stmt* st = nullptr;
  int prc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, nullptr);
  if (prc == SQLITE_OK) prc = sqlite3_step(st);
  const bool wal = prc == SQLITE_ROW &&
                   std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal";
  sqlite3_finalize(st);
  if (!wal) {
    auto e = sqlite_error(db, prc, where + " cannot be used (WAL mode refused)");
    sqlite3_close(db);
    return e;
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=OFF", "PRAGMA temp_store=MEMORY"}) {
    if (auto s = exec(db, pragma, where); !s) {
      sqlite3_close(db);
      return std::move(s).err();
    }
  }
  if (writer) {
    if (o.max_page_count > 0) {
      const std::string p = "PRAGMA max_page_count=" + std::to_string(o.max_page_count);
      if (auto s = exec(db, p.c_str(), where); !s) {
        sqlite3_close(db);
        return std::move(s).err();
      }
    }
    if (auto s = exec(db,
                      "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID",
                      where);
        !s) {
      sqlite3_close(db);
      return std::move(s).err();
    }
  } else {
    if (auto s = exec(db, "PRAGMA query_only=1", where); !s) {
      sqlite3_close(db);
      return std::move(s).err();
    }
  }
  return db;
}

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// The data directory and the files in it hold the whole store: only the broker's user may touch them.
status check_private(const sqlite_options& o) {
  const auto dir = std::filesystem::path(o.path).parent_path();
  struct stat st {};
  if (!dir.empty() && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if ((st.st_mode & 022) != 0) {
      return make_error(errc::invalid_request, "data directory \"" + dir.string() + "\" is writable by group or others (mode " +
                                                   mode_text(st.st_mode) +
                                                   "): anyone who can write there can replace the store; run chmod 700 on it");
    }
    if ((st.st_mode & 077) != 0) {
      spdlog::warn("data directory \"{}\" can be listed by group or others (mode {}): run chmod 700 on it", dir.string(),
                   mode_text(st.st_mode));
    }
  }
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    const std::string file = o.path + suffix;
    if (::stat(file.c_str(), &st) != 0) continue;
    if ((st.st_mode & 077) != 0) {
      return make_error(errc::invalid_request, "storage file \"" + file + "\" is readable or writable by group or others (mode " +
                                                   mode_text(st.st_mode) + "): run chmod 600 on it");
    }
  }
  if (::stat(o.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
    if (!o.accept_empty_file) {
      return make_error(errc::integrity_failure,
                        "storage file \"" + o.path + "\" is empty (0 bytes): the store it held is gone (truncated or "
                        "replaced). Restore it from a backup; or, to begin a new, uninitialised store there, start "
                        "the server with -fresh-store");
    }
    spdlog::warn("storage file \"{}\" is empty (0 bytes): starting a new, uninitialised store because -fresh-store was given",
                 o.path);
  }
  return ok_v;
}

// The smallest string greater than every string with this prefix, or "" if there is none.
std::string prefix_upper_bound(std::string p) {
  while (!p.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(p.back());
    if (c != 0xff) {
      ++c;
      return p;
    }
    p.pop_back();
  }
  return {};
}

}  // namespace

struct sqlite_backend::reader {
  std::mutex mu;
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* list_range = nullptr;
  sqlite3_stmt* list_from = nullptr;
  ~reader() {
    sqlite3_finalize(get);
    sqlite3_finalize(list_range);
    sqlite3_finalize(list_from);
    sqlite3_close(db);
  }
};

sqlite_backend::sqlite_backend(sqlite_options options) : options_(std::move(options)) {}

result<std::unique_ptr<sqlite_backend>> sqlite_backend::open(const sqlite_options& options) {
  if (options.path.empty()) return make_error(errc::invalid_request, "storage path is empty");
  const auto dir = std::filesystem::path(options.path).parent_path();
  std::error_code ec;
  // Everything created from here on (directories, the database, its -wal and -shm) is private.
  const mode_t old = ::umask(077);
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      ::umask(old);
      return make_error(errc::storage_failure,
                        "cannot create the data directory \"" + dir.string() + "\": " + ec.message());
    }
    ::chmod(dir.c_str(), 0700);
  }
  if (auto s = check_private(options); !s) {
    ::umask(old);
    return std::move(s).err();
  }
  std::unique_ptr<sqlite_backend> b(new sqlite_backend(options));
  auto s = b->init_writer();
  if (s) {
    for (unsigned i = 0; i < std::max(1u, options.read_connections); ++i) {
      auto db = open_connection(options, false);
      if (!db) {
        s = std::move(db).err();
        break;
      }
      auto r = std::make_unique<reader>();
      r->db = *db;
      const int rc1 = sqlite3_prepare_v2(r->db, "SELECT value FROM kv WHERE key = ?1", -1, &r->get, nullptr);
      const int rc2 = sqlite3_prepare_v2(r->db, "SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key", -1,
                                         &r->list_range, nullptr);
      const int rc3 = sqlite3_prepare_v2(r->db, "SELECT key FROM kv WHERE key >= ?1 ORDER BY key", -1, &r->list_from,
                                         nullptr);
      if (rc1 != SQLITE_OK || rc2 != SQLITE_OK || rc3 != SQLITE_OK) {
        s = sqlite_error(r->db, rc1 != SQLITE_OK ? rc1 : rc2 != SQLITE_OK ? rc2 : rc3,
                         "storage file \"" + options.path + "\" cannot be read");
        break;
      }
      b->readers_.push_back(std::move(r));
    }
  }
  ::umask(old);
  if (!s) return std::move(s).err();
  b->flusher_ = std::thread([p = b.get()] { p->flusher_loop(); });
  b->checkpointer_ = std::thread([p = b.get()] { p->checkpoint_loop(); });
  return b;
}

status sqlite_backend::init_writer() {
  auto db = open_connection(options_, true);
  if (!db) return std::move(db).err();
  writer_db_ = *db;
  int rc = sqlite3_prepare_v2(writer_db_,
                              "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                              -1, &put_stmt_, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(writer_db_, "DELETE FROM kv WHERE key = ?1", -1, &delete_stmt_, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(writer_db_, rc, "storage file \"" + options_.path + "\" cannot be written");
  // Checkpoints (copying the WAL back into the database file, with an fsync of it) run on their own
  // thread and connection, not inside a commit that every waiting writer would wait for. The WAL hook
  // tells that thread when the log has grown; a PASSIVE checkpoint never blocks writers.
  sqlite3_wal_autocheckpoint(writer_db_, 0);
  sqlite3_wal_hook(
      writer_db_,
      [](void* self, sqlite3*, const char*, int frames) {
        auto* b = static_cast<sqlite_backend*>(self);
        b->wal_frames_.store(frames, std::memory_order_relaxed);
        if (frames >= b->options_.checkpoint_frames) {
          std::lock_guard lock(b->checkpoint_mu_);
          b->checkpoint_due_ = true;
          b->checkpoint_cv_.notify_one();
        }
        return SQLITE_OK;
      },
      this);
  auto ckpt = open_connection(options_, false);
  if (!ckpt) return std::move(ckpt).err();
  checkpoint_db_ = *ckpt;
  return ok_v;
}

void sqlite_backend::checkpoint_loop() {
  std::unique_lock lock(checkpoint_mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_due_; });
    if (checkpoint_stop_) return;
    checkpoint_due_ = false;
    lock.unlock();
    {
      std::lock_guard one_at_a_time(checkpoint_run_mu_);
      int log = 0, done = 0;
      const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::error("storage checkpoint of \"{}\" failed: {}", options_.path, sqlite3_errmsg(checkpoint_db_));
      }
    }
    lock.lock();
  }
}

sqlite_backend::~sqlite_backend() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();  // after committing what is still queued
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (checkpoint_db_ != nullptr) {
    (void)sqlite3_wal_checkpoint_v2(checkpoint_db_, "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_close(checkpoint_db_);
  }
  readers_.clear();
  sqlite3_finalize(put_stmt_);
  sqlite3_finalize(delete_stmt_);
  sqlite3_close(writer_db_);
}

sqlite_backend::reader& sqlite_backend::acquire_reader(std::unique_lock<std::mutex>& lock) {
  const unsigned n = static_cast<unsigned>(readers_.size());
  const unsigned start = next_reader_.fetch_add(1, std::memory_order_relaxed);
  for (unsigned i = 0; i < n; ++i) {
    reader& r = *readers_[(start + i) % n];
    std::unique_lock attempt(r.mu, std::try_to_lock);
    if (attempt.owns_lock()) {
      lock = std::move(attempt);
      return r;
    }
  }
  reader& r = *readers_[start % n];
  lock = std::unique_lock(r.mu);
  return r;
}

result<std::optional<std::string>> sqlite_backend::get(const std::string& key) {
  std::unique_lock<std::mutex> lock;
  reader& r = acquire_reader(lock);
  sqlite3_reset(r.get);
  sqlite3_bind_text(r.get, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(r.get);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(r.get);
    return std::optional<std::string>{};
  }
  if (rc != SQLITE_ROW) {
    auto e = sqlite_error(r.db, rc, "storage read failed for \"" + key + "\"");
    sqlite3_reset(r.get);
    return e;
  }
  const auto* data = static_cast<const char*>(sqlite3_column_blob(r.get, 0));
  const int size = sqlite3_column_bytes(r.get, 0);
  std::optional<std::string> out(std::in_place, data == nullptr ? "" : std::string(data, static_cast<std::size_t>(size)));
  sqlite3_reset(r.get);
  return out;
}

result<std::vector<std::string>> sqlite_backend::list(const std::string& prefix) {
  std::unique_lock<std::mutex> lock;
  reader& r = acquire_reader(lock);
  const std::string upper = prefix_upper_bound(prefix);
  sqlite3_stmt* st = upper.empty() ? r.list_from : r.list_range;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_TRANSIENT);
  if (!upper.empty()) sqlite3_bind_text(st, 2, upper.data(), static_cast<int>(upper.size()), SQLITE_TRANSIENT);
  std::vector<std::string> keys;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    keys.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                      static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sqlite_error(r.db, rc, "storage list failed for \"" + prefix + "\"");
  return children_of(prefix, keys);
}

status sqlite_backend::scan(const std::string& prefix,
                            const std::function<bool(const std::string&, std::string_view)>& visit) {
  // A connection of its own: a long scan must not hold a pooled reader.
  auto db = open_connection(options_, false);
  if (!db) return std::move(db).err();
  // Read the file through a memory map: no pread copy per page (the scan reads everything once).
  (void)exec(*db, "PRAGMA mmap_size=4294967296", "mmap");
  (void)exec(*db, "PRAGMA cache_size=-65536", "cache");
  const std::string upper = prefix_upper_bound(prefix);
  sqlite3_stmt* st = nullptr;
  const char* sql = upper.empty() ? "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key"
                                  : "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key";
  int rc = sqlite3_prepare_v2(*db, sql, -1, &st, nullptr);
  status out = ok_v;
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_TRANSIENT);
    if (!upper.empty()) sqlite3_bind_text(st, 2, upper.data(), static_cast<int>(upper.size()), SQLITE_TRANSIENT);
    std::string key;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      key.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
      const auto* v = static_cast<const char*>(sqlite3_column_blob(st, 1));
      if (!visit(key, std::string_view(v == nullptr ? "" : v, static_cast<std::size_t>(sqlite3_column_bytes(st, 1))))) {
        rc = SQLITE_DONE;
        break;
      }
    }
    if (rc != SQLITE_DONE) out = sqlite_error(*db, rc, "storage scan failed for \"" + prefix + "\"");
  } else {
    out = sqlite_error(*db, rc, "storage scan failed for \"" + prefix + "\"");
  }
  sqlite3_finalize(st);
  sqlite3_close(*db);
  return out;
}

status sqlite_backend::apply(std::vector<operation> ops) {
  if (ops.empty()) return ok_v;
  pending p;
  p.ops = std::move(ops);
  std::condition_variable mine;  // woken when p is committed, or when it is p's turn to lead
  p.wake = &mine;
  std::unique_lock lock(mu_);
  if (stopping_) return make_error(errc::storage_failure, "storage is closed");
  queue_.push_back(&p);
  for (;;) {
    if (p.done) return std::move(p.result);
    if (!committing_) {
      lead(lock);
      continue;
    }
    mine.wait(lock);
  }
}

void sqlite_backend::apply_lazy(std::vector<operation> ops) {
  if (ops.empty()) return;
  auto p = std::make_unique<pending>();
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

void sqlite_backend::lead(std::unique_lock<std::mutex>& lock) {
  committing_ = true;
  std::vector<pending*> batch;
  std::size_t writes = 0;
  while (!queue_.empty() && (batch.empty() || writes + queue_.front()->ops.size() <= options_.max_batch)) {
    writes += queue_.front()->ops.size();
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  lock.unlock();
  commit_batch(batch);
  // The background checkpointer copies most of the WAL without blocking anyone, but while writes keep
  // coming it never reaches the end, and the WAL is only reset after a checkpoint that did. So at
  // twice the threshold the leader finishes one here, between transactions (little is left to copy).
  // It waits for a background checkpoint in progress rather than being refused by it (SQLITE_BUSY):
  // on a loaded machine the background thread may be running whenever the leader looks, and the WAL
  // then grew without bound (96 MB seen at load 18).
  if (wal_frames_.load(std::memory_order_relaxed) >= 2 * options_.checkpoint_frames) {
    std::lock_guard one_at_a_time(checkpoint_run_mu_);
    int log = 0, done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(writer_db_, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && done == log) wal_frames_.store(0, std::memory_order_relaxed);  // the next write resets it
  }
  lock.lock();
  for (pending* p : batch) {
    if (p->lazy) {
      if (!p->result) spdlog::error("lazy storage write of \"{}\" failed: {}", p->ops.front().key, p->result.err().message);
      delete p;
    } else {
      p->done = true;  // its caller returns (and frees p) once it sees this: notified under the lock
      p->wake->notify_one();
    }
  }
  committing_ = false;
  // Exactly one waiter leads next: the oldest durable write still queued (lazy ones ride with it).
  for (pending* p : queue_) {
    if (!p->lazy) {
      p->wake->notify_one();
      break;
    }
  }
  if (flusher_waiting_) flusher_cv_.notify_one();
}

void sqlite_backend::flusher_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] { return stopping_ || lazy_armed_; });
    // Give durable writes a moment to carry the lazy ones along (one fsync fewer each time).
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
    lazy_armed_ = false;
    if (stopping_ && !committing_) return;
  }
}

// Runs one pending write's operations inside the current transaction.
status sqlite_backend::run_ops(const pending& p) {
  for (const auto& op : p.ops) {
    sqlite3_stmt* st = op.k == operation::kind::put ? put_stmt_ : delete_stmt_;
    sqlite3_bind_text(st, 1, op.key.data(), static_cast<int>(op.key.size()), SQLITE_STATIC);
    if (op.k == operation::kind::put) {
      sqlite3_bind_blob(st, 2, op.value.data(), static_cast<int>(op.value.size()), SQLITE_STATIC);
    }
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return sqlite_error(writer_db_, rc, "storage write failed for \"" + op.key + "\"");
  }
  return ok_v;
}

// One transaction around `items` (begin, run, commit); on any failure nothing of it is stored.
status sqlite_backend::transact(const std::vector<pending*>& items) {
  const std::string first_key = items.front()->ops.front().key;
  if (auto s = exec(writer_db_, "BEGIN IMMEDIATE", "storage write failed for \"" + first_key + "\""); !s) return s;
  for (const pending* p : items) {
    if (auto s = run_ops(*p); !s) {
      if (sqlite3_get_autocommit(writer_db_) == 0) (void)exec(writer_db_, "ROLLBACK", "rollback");
      return s;
    }
  }
  if (auto c = exec(writer_db_, "COMMIT", "storage commit failed for \"" + first_key + "\""); !c) {
    if (sqlite3_get_autocommit(writer_db_) == 0) (void)exec(writer_db_, "ROLLBACK", "rollback");
    return c;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t writes = 0;
  for (const pending* p : items) writes += p->ops.size();
  committed_writes_.fetch_add(writes, std::memory_order_relaxed);
  return ok_v;
}

void sqlite_backend::commit_batch(const std::vector<pending*>& batch) {
  const commit_measure measured(batch.size());  // credbroker_storage_commit_* (commit_metrics.hpp)
  // Fast path: the whole batch in one transaction, one fsync.
  if (auto s = transact(batch); s) {
    for (pending* p : batch) p->result = ok_v;
    return;
  }
  // Something failed (disk full, a bad write, busy): nothing was stored. Give every write its own
  // transaction so each caller learns its own result and one failure does not fail the others.
  for (pending* p : batch) p->result = transact({p});
}

std::uint64_t sqlite_backend::commits() const { return commits_.load(); }
std::uint64_t sqlite_backend::committed_writes() const { return committed_writes_.load(); }

}  // namespace credbroker::storage
