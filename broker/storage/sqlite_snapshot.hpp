#pragma once
// sqlite_snapshot: a consistent copy of an SQLite store, taken by any process while a server writes
// to it, and the check that a file is a restorable store.
//
// Spec:
//   snapshot_sqlite(source, target)
//     1. target is created empty with O_EXCL and mode 0600 (an existing target is refused: a backup
//        never overwrites anything, and SQLite would create it with the umask's mode).
//     2. `VACUUM INTO target` on a query-only connection to source: one WAL read transaction, so the
//        copy holds exactly the writes committed before it began — whole group-commit batches, never
//        part of one — while the server goes on committing (readers never block the WAL writer).
//     3. check_sqlite_store(target): integrity_check "ok" and a kv table; its key count is reported.
//     Crash points: before 3 the target may be partial or empty — the command failed, so nobody takes
//     it for a backup; a failure in 2 or 3 removes the target.
//   check_sqlite_store(path): opens it query-only, runs PRAGMA integrity_check, counts the kv rows.
// The copy holds the values as stored: encrypted by the barrier, so it is restored into a server that
// is unsealed with the same keys (docs/operations.md).
// Errors: errc::invalid_request (target exists, source missing), errc::storage_failure (SQLite's
// message: unreadable, not a database, disk full), errc::integrity_failure (integrity_check failed,
// no kv table).
// Example: snapshot_sqlite("/var/lib/credbroker/credbroker.db", "/backup/cb-2026-12-02.db")
//          -> {keys: 10234, bytes: 3481600}
// Thread: free functions; each opens its own connections.
#include <cstdint>
#include <string>

#include "broker/core/result.hpp"

namespace credbroker::storage {

struct snapshot_report {
  std::uint64_t keys = 0;   // rows of the kv table in the copy
  std::uint64_t bytes = 0;  // size of the copy
};

result<snapshot_report> snapshot_sqlite(const std::string& source, const std::string& target);
result<snapshot_report> check_sqlite_store(const std::string& path);

}  // namespace credbroker::storage
