#include "broker/storage/sqlite_snapshot.hpp"

#include <fcntl.h>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

namespace credbroker::storage {
namespace {

struct closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using connection = std::unique_ptr<sqlite3, closer>;

error failure(sqlite3* db, const std::string& what) {
  return make_error(errc::storage_failure, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// Never creating: a missing file is an error. query_only for the checks (VACUUM INTO, which writes
// only its target, is refused on a query-only connection).
result<connection> open_existing(const std::string& path, bool query_only) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(errc::invalid_request, "storage file \"" + path + "\" does not exist or is not a file");
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  connection db(raw);
  if (rc != SQLITE_OK) return failure(raw, "cannot open storage file \"" + path + "\"");
  sqlite3_busy_timeout(db.get(), 5000);
  if (query_only && sqlite3_exec(db.get(), "PRAGMA query_only=1", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure(db.get(), "storage file \"" + path + "\"");
  }
  return db;
}

// The first column of a one-row query, as text; nullopt when there is no row.
result<std::optional<std::string>> scalar(sqlite3* db, const char* sql, const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return failure(db, what);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return failure(db, what);
  const auto* text = sqlite3_column_text(st.get(), 0);
  return std::optional<std::string>(text != nullptr ? reinterpret_cast<const char*>(text) : "");
}

}  // namespace

result<snapshot_report> check_sqlite_store(const std::string& path) {
  auto db = open_existing(path, true);
  if (!db) return std::move(db).err();
  const std::string where = "storage file \"" + path + "\"";
  auto integrity = scalar(db->get(), "PRAGMA integrity_check", where);
  if (!integrity) return std::move(integrity).err();
  if (*integrity != "ok") {
    return make_error(errc::integrity_failure, where + " fails SQLite's integrity check: " + integrity->value_or("no answer"));
  }
  auto table = scalar(db->get(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'kv'", where);
  if (!table) return std::move(table).err();
  if (!*table) return make_error(errc::integrity_failure, where + " is an SQLite database but not a credbroker store (no kv table)");
  auto count = scalar(db->get(), "SELECT count(*) FROM kv", where);
  if (!count) return std::move(count).err();
  snapshot_report r;
  r.keys = std::stoull(count->value_or("0"));
  std::error_code ec;
  r.bytes = std::filesystem::file_size(path, ec);
  return r;
}

result<snapshot_report> snapshot_sqlite(const std::string& source, const std::string& target) {
  // 1. The target, empty, private, new.
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return make_error(errc::invalid_request, "\"" + target + "\" exists: a backup never overwrites a file");
    return make_error(errc::storage_failure, "cannot create \"" + target + "\": " + std::strerror(errno));
  }
  ::close(fd);
  const auto discard = [&target](error e) -> result<snapshot_report> {
    std::error_code ec;
    std::filesystem::remove(target, ec);
    return e;
  };
  // 2. One read transaction copies the committed store.
  auto db = open_existing(source, false);
  if (!db) return discard(std::move(db).err());
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db->get(), "VACUUM INTO ?1", -1, &raw, nullptr) != SQLITE_OK) {
    return discard(failure(db->get(), "cannot copy \"" + source + "\""));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
  sqlite3_bind_text(st.get(), 1, target.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return discard(failure(db->get(), "cannot copy \"" + source + "\" into \"" + target + "\""));
  st.reset();
  db->reset();
  // 3. The copy is a whole store.
  auto checked = check_sqlite_store(target);
  if (!checked) return discard(std::move(checked).err());
  return checked;
}

}  // namespace credbroker::storage
