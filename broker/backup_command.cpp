// credbroker backup / credbroker restore: a consistent copy of a server's SQLite store while it runs,
// and putting such a copy in place for a new server (storage/sqlite_snapshot.hpp, docs/operations.md).
//
// restore, in steps (crash points between them leave no half-restored store a server would open):
//   1. the backup passes check_sqlite_store (integrity, kv table)
//   2. the data directory is created 0700 if missing; a credbroker.db there that is not empty, or a
//      -wal or -shm file (SQLite would replay a stale log onto the restored file), is refused
//   3. the backup is copied to credbroker.db.restoring (0600) and fsynced
//   4. rename to credbroker.db and fsync of the directory: the store appears whole or not at all
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "broker/commands.hpp"
#include "broker/config/server_config.hpp"
#include "broker/storage/sqlite_snapshot.hpp"
#include "cli/flags.hpp"

namespace credbroker {
namespace {

const std::vector<cli::flag_spec> store_flags = {
    {"config", true, "FILE", "The server's JSON configuration file: its storage block names the store."},
};

int usage(const char* cmd, const std::string& message) {
  std::fprintf(stderr, "credbroker %s: %s\n\nRun \"credbroker %s -help\" for usage.\n", cmd, message.c_str(), cmd);
  return 2;
}

int failed(const char* cmd, const std::string& message) {
  std::fprintf(stderr, "credbroker %s: %s\n", cmd, message.c_str());
  return 1;
}

struct invocation {
  std::string store;  // the SQLite file of the config's storage
  std::string file;   // the one argument: the backup
};

// Flags, help, the config's store file and the one FILE argument; an exit code when there is none.
std::variant<invocation, int> parse(const char* cmd, const char* help, const std::vector<std::string>& args) {
  auto flags = cli::parse_flags(store_flags, args);
  if (!flags) return usage(cmd, flags.err().message);
  if (flags->help) {
    std::fputs(help, stdout);
    std::fputs(cli::describe_flags(store_flags).c_str(), stdout);
    return 0;
  }
  if (!flags->has("config")) return usage(cmd, "-config FILE is required");
  if (flags->positional.size() != 1) return usage(cmd, "expected one FILE argument");
  auto cfg = config::load_server_config(flags->value("config"));
  if (!cfg) return usage(cmd, cfg.err().message);
  if (cfg->storage.type != "sqlite") {
    return usage(cmd, "storage type \"" + cfg->storage.type +
                          "\" has no file to copy: back up a postgresql store's table with pg_dump (docs/operations.md)");
  }
  return invocation{(std::filesystem::path(cfg->storage.path) / "credbroker.db").string(), flags->positional.front()};
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return make_error(errc::storage_failure, errno_text("cannot open \"" + path + "\""));
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return make_error(errc::storage_failure, errno_text("cannot fsync \"" + path + "\""));
  return ok_v;
}

// Step 2: nothing in the way of the restored file.
status target_is_free(const std::string& store) {
  const auto dir = std::filesystem::path(store).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::storage_failure, "cannot create \"" + dir.string() + "\": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  struct stat st {};
  if (::stat(store.c_str(), &st) == 0 && st.st_size > 0) {
    return make_error(errc::invalid_request, "\"" + store + "\" holds a store: restore never overwrites one (move it away first)");
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    if (::stat((store + suffix).c_str(), &st) == 0) {
      return make_error(errc::invalid_request, "\"" + store + suffix +
                                                   "\" exists: it belongs to the store that was there and would be "
                                                   "replayed onto the restored one; move it away first");
    }
  }
  return ok_v;
}

// Steps 3 and 4.
status copy_into_place(const std::string& backup, const std::string& store) {
  const std::string tmp = store + ".restoring";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) return make_error(errc::storage_failure, errno_text("cannot create \"" + tmp + "\""));
  ::close(out);
  std::filesystem::copy_file(backup, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return make_error(errc::storage_failure, "cannot copy \"" + backup + "\": " + ec.message());
  if (auto s = fsync_path(tmp, O_RDONLY); !s) return s;
  std::filesystem::rename(tmp, store, ec);
  if (ec) return make_error(errc::storage_failure, "cannot rename \"" + tmp + "\": " + ec.message());
  return fsync_path(std::filesystem::path(store).parent_path().string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace

const char* const backup_help = R"(Usage: credbroker backup -config FILE BACKUP

Writes a consistent copy of the SQLite store of the server that FILE configures into BACKUP (a new
file, mode 0600), while the server runs: the copy holds every write committed before it began. The
values stay encrypted by the barrier: restore it ("credbroker restore") into a server that is unsealed
with the same unseal keys. A postgresql store is backed up with pg_dump of its table.

Exit codes: 0 success, 1 failure (BACKUP is not left behind), 2 usage or configuration error.

Options:
)";

const char* const restore_help = R"(Usage: credbroker restore -config FILE BACKUP

Puts BACKUP (written by "credbroker backup") in place as the store of the server FILE configures,
before that server starts: it checks the backup, refuses a data directory that already holds a store
(or its -wal and -shm files), and makes the file appear whole (copy, fsync, rename). Start the server
and unseal it with the keys of the store that was backed up: its leases are revoked as they fall due.

Exit codes: 0 success, 1 failure, 2 usage or configuration error.

Options:
)";

int backup_command(const std::vector<std::string>& args) {
  auto p = parse("backup", backup_help, args);
  if (const int* code = std::get_if<int>(&p)) return *code;
  const auto& inv = std::get<invocation>(p);
  auto r = storage::snapshot_sqlite(inv.store, inv.file);
  if (!r) return failed("backup", r.err().message);
  std::printf("Success! Backed up %llu keys (%llu bytes) to %s\n", static_cast<unsigned long long>(r->keys),
              static_cast<unsigned long long>(r->bytes), inv.file.c_str());
  return 0;
}

int restore_command(const std::vector<std::string>& args) {
  auto p = parse("restore", restore_help, args);
  if (const int* code = std::get_if<int>(&p)) return *code;
  const auto& inv = std::get<invocation>(p);
  auto checked = storage::check_sqlite_store(inv.file);
  if (!checked) return failed("restore", checked.err().message);
  if (auto s = target_is_free(inv.store); !s) {
    return s.err().code == make_error_code(errc::invalid_request) ? usage("restore", s.err().message)
                                                                  : failed("restore", s.err().message);
  }
  if (auto s = copy_into_place(inv.file, inv.store); !s) return failed("restore", s.err().message);
  std::printf("Success! Restored %llu keys into %s; start the server and unseal it with the backed-up store's keys\n",
              static_cast<unsigned long long>(checked->keys), inv.store.c_str());
  return 0;
}

}  // namespace credbroker
