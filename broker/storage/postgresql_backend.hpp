#pragma once
// postgresql_backend: the storage on a PostgreSQL server (storage "postgresql" in the config), for
// brokers that share one database (HA) or whose team already runs PostgreSQL. Same contract as every
// physical backend (physical.hpp); values are opaque bytes, sealed by the barrier above.
//
// Schema, created on first use (idempotent; nodes starting at once serialise on a transaction-level
// advisory lock, and a table that already exists is only checked, so the role needs no CREATE right
// then):
//   CREATE TABLE <table> (key bytea PRIMARY KEY, value bytea NOT NULL)
// Keys are bytea, not text, so they sort byte-wise exactly as in the other backends (SQLite's
// BINARY collation, std::map) whatever the database's collation, and any byte is allowed. To read
// them in psql: SELECT convert_from(key, 'UTF8') FROM credbroker_kv_store.
//
// Writes: group commit (group_commit.hpp) on ONE writer session, one batch in flight at a time. A
// batch is ONE statement (a DELETE and an INSERT ... ON CONFLICT in data-modifying CTEs over
// unnest()ed bytea[] parameters, sent in binary, prepared once), so it is one round trip, one
// implicit transaction and one WAL flush: all or nothing. Inside a batch the last operation on a key
// wins (the batch is atomic, so only the final state of each key is observable).
//   writers w1..w64 -> queue -> leader: EXECUTE cb_write({removed keys}, {put keys}, {values}) -> wake
//
// A commit whose outcome is unknown (the connection dropped after the statement was sent): the batch
// is a set of final values, so applying it again is the same as applying it once, and no later batch
// of this node runs before it is settled. Without HA the backend reconnects and sends the same batch
// once more; if that succeeds every writer of the batch gets ok. If the server stays unreachable the
// writers get errc::storage_failure saying the write MAY have been stored: an unacknowledged write
// that landed is what a crash right after a commit leaves too, which every protocol above already
// settles (pending leases, rotation WALs). An acknowledged write is never lost.
// In HA mode the batch is not retried: the session that dropped was the leadership's (below), so this
// node is no longer the active one and must not write; the writers get the same "may have been
// stored" failure.
//
// HA mode (options.ha_enabled): the backend writes only through the session of the HA lock holder
// (ha/postgresql_leadership.hpp attaches it while this node holds the leadership), and every batch is
// fenced in the same statement: it writes only if the row <ha_table>.name = <table> still carries the
// attached epoch and lock_pid = pg_backend_pid(), i.e. the statement runs on the session that holds
// the advisory lock and nobody took the leadership over. A fenced or lost batch writes nothing, fails
// with errc::storage_failure and tells the leadership (on_lost), which steps down. Without a writer
// attached (a standby) every write fails; reads work on every node.
//
// Reads (get, list) use a pool of up to max_parallel - 1 reader sessions (at least one), opened on
// demand; a read whose session dropped is retried once on a new one. list() is a loose index scan (a
// recursive query that jumps over each child folder), so listing a folder costs one index probe per
// child, not one row per key below it. scan() reads in one REPEATABLE READ snapshot through a binary
// cursor on a session of its own, 1,000 rows per round trip.
//
// Errors: errc::storage_failure "<what> (PostgreSQL at host:port/db): <reason>", never the password.
// An unreachable server fails open() and each later call, never hangs one: connect_timeout,
// tcp_user_timeout and keepalives are set on every session (postgresql_target.hpp), and each session
// has statement_timeout = 60 s.
// Thread: every method may be called concurrently from any thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "broker/storage/group_commit.hpp"
#include "broker/storage/physical.hpp"
#include "broker/storage/postgresql_session.hpp"

namespace credbroker::storage {

struct postgresql_options {
  secret connection_url;                         // libpq URI or keyword string (holds the password)
  std::string table = "credbroker_kv_store";     // [schema.]table
  unsigned max_parallel = 128;                   // sessions at most: one writer + readers
  bool ha_enabled = false;                       // writes only through an attached leadership session
  std::string ha_table = "credbroker_ha_locks";  // HA mode: the leadership table (created by ha/)
  int connect_timeout_seconds = 10;
  group_commit_options batching;
};

class postgresql_backend final : public physical {
 public:
  // Connects, creates the table if missing, checks its shape. Errors: errc::invalid_request for a
  // bad URL or table name, errc::storage_failure naming the server for everything else.
  static result<std::unique_ptr<postgresql_backend>> open(const postgresql_options& options);
  ~postgresql_backend() override;

  result<std::optional<std::string>> get(const std::string& key) override;
  result<std::vector<std::string>> list(const std::string& prefix) override;
  status apply(std::vector<operation> ops) override;
  void apply_lazy(std::vector<operation> ops) override;
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override;

  // HA mode: from now on batches go through `session` (which holds the leadership at `epoch`),
  // fenced; on_lost(reason) is called once, outside any lock, when a batch finds the session lost or
  // the fence changed. Replaces any earlier writer.
  void attach_writer(std::shared_ptr<postgresql_session> session, std::uint64_t epoch,
                     std::function<void(const std::string&)> on_lost);
  // HA mode: no writer from now on (a batch already running finishes on the old one).
  void detach_writer();

  const postgresql_target& target() const { return target_; }
  const postgresql_options& options() const { return options_; }
  // The table names as quoted SQL identifiers.
  const std::string& quoted_table() const { return table_sql_; }
  const std::string& quoted_ha_table() const { return ha_table_sql_; }

  // Counters for tests and benchmarks: committed batches and the operations they carried.
  std::uint64_t commits() const { return commits_.load(); }
  std::uint64_t committed_writes() const { return committed_writes_.load(); }
  // Reader sessions open now (idle or in use).
  unsigned open_readers() const;

 private:
  struct attached {
    std::shared_ptr<postgresql_session> session;
    std::uint64_t epoch = 0;
    std::function<void(const std::string&)> on_lost;
  };
  struct collapsed;
  enum class outcome { ok, not_stored, unknown };
  explicit postgresql_backend(postgresql_options options, postgresql_target target);

  status create_schema();
  result<std::unique_ptr<postgresql_session>> open_session(const std::string& purpose);
  void prepare_writer(pqxx::connection& c) const;
  void prepare_reader(pqxx::connection& c) const;

  // Reader pool.
  result<std::unique_ptr<postgresql_session>> acquire_reader();
  void release_reader(std::unique_ptr<postgresql_session> s);
  template <class F>
  auto with_reader(const std::string& what, F&& f) -> result<decltype(f(std::declval<pqxx::connection&>()))>;

  // Writes.
  void commit(std::vector<group_commit::item>& batch);
  std::pair<outcome, status> write(const collapsed& c, const std::string& first_key);
  std::pair<outcome, status> write_unfenced(const collapsed& c, const std::string& first_key);
  std::pair<outcome, status> write_fenced(const collapsed& c, const std::string& first_key);

  const postgresql_options options_;
  const postgresql_target target_;
  std::string table_sql_;
  std::string ha_table_sql_;

  mutable std::mutex pool_mu_;  // guards idle_ and open_readers_
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<postgresql_session>> idle_;
  unsigned open_readers_ = 0;

  std::unique_ptr<postgresql_session> writer_;  // non-HA: used by the committer only (one at a time)
  std::mutex attached_mu_;                      // guards attached_ (HA)
  attached attached_;

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> committed_writes_{0};
  std::unique_ptr<group_commit> queue_;  // last: closed (flushed) first
};

}  // namespace credbroker::storage
