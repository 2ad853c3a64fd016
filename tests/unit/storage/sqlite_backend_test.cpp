// SQLite-specific behaviour: durability across reopen, group commit, and bad conditions
// (corrupt file, disk full, another process holding the lock).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "broker/core/random.hpp"
#include "broker/storage/sqlite_backend.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

class sqlite_backend_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("credbroker-sqlite-" + random_alnum(12));
    path_ = (dir_ / "credbroker.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<sqlite_backend> open(std::int64_t max_pages = 0, int busy_ms = 5000) {
    sqlite_options o;
    o.path = path_;
    o.max_page_count = max_pages;
    o.busy_timeout_ms = busy_ms;
    auto r = sqlite_backend::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(sqlite_backend_test, writes_survive_reopen_and_the_file_is_private) {
  {
    auto db = open();
    ASSERT_TRUE(db->put("k", "v").ok());
  }
  auto db = open();
  EXPECT_EQ(**db->get("k"), "v");
  ASSERT_TRUE(db->put("k", "v2").ok());
  // The broker makes its directory 0700 and every file 0600, whatever the umask.
  using std::filesystem::perms;
  EXPECT_EQ(std::filesystem::status(dir_).permissions(), perms::owner_all);
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(path_ + suffix)) << suffix;
    EXPECT_EQ(std::filesystem::status(path_ + suffix).permissions(), perms::owner_read | perms::owner_write) << suffix;
  }
}

// What open() says about the data directory and its files: one line per condition.
TEST_F(sqlite_backend_test, modes_and_an_empty_file) {
  using std::filesystem::perms;
  struct condition {
    const char* name;
    perms dir;
    perms file;       // of an existing database file; perms::unknown: no file yet
    bool empty_file;  // the file exists with 0 bytes
    bool accept_empty;
    const char* error;  // nullptr: opens
  };
  const perms private_file = perms::owner_read | perms::owner_write;
  const perms listable = perms::owner_all | perms::group_read | perms::group_exec | perms::others_read | perms::others_exec;
  const std::vector<condition> cases = {
      {"private", perms::owner_all, private_file, false, false, nullptr},
      {"listable directory (warned)", listable, private_file, false, false, nullptr},
      {"group-writable directory", listable | perms::group_write, private_file, false, false,
       "is writable by group or others (mode 0775): anyone who can write there can replace the store; run chmod 700 on it"},
      {"world-writable directory", perms::all, perms::unknown, false, false, "is writable by group or others (mode 0777)"},
      {"file others can read", perms::owner_all, private_file | perms::group_read | perms::others_read, false, false,
       "is readable or writable by group or others (mode 0644): run chmod 600 on it"},
      {"file the group can write", perms::owner_all, private_file | perms::group_write, false, false, "(mode 0620)"},
      {"empty file", perms::owner_all, private_file, true, false,
       "is empty (0 bytes): the store it held is gone (truncated or replaced). Restore it from a backup; or, to begin "
       "a new, uninitialised store there, start the server with -fresh-store"},
      {"empty file, fresh store asked for", perms::owner_all, private_file, true, true, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (c.file != perms::unknown) {
      if (c.empty_file) {
        std::ofstream(path_).close();
      } else {
        sqlite_options o;
        o.path = path_;
        ASSERT_TRUE(sqlite_backend::open(o).ok());
      }
      std::filesystem::permissions(path_, c.file);
    }
    std::filesystem::permissions(dir_, c.dir);
    sqlite_options o;
    o.path = path_;
    o.accept_empty_file = c.accept_empty;
    auto r = sqlite_backend::open(o);
    if (c.error == nullptr) {
      ASSERT_TRUE(r.ok()) << r.err().message;
      EXPECT_TRUE((*r)->put("k", "v").ok());
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.err().message.find(c.error), std::string::npos) << r.err().message;
      EXPECT_NE(r.err().message.find(c.empty_file ? path_ : dir_.string()), std::string::npos) << r.err().message;
    }
  }
}

TEST_F(sqlite_backend_test, concurrent_writers_share_transactions) {
  auto db = open();
  constexpr int writers = 64, each = 20;
  std::vector<std::thread> ts;
  for (int t = 0; t < writers; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) ASSERT_TRUE(db->put("g/" + std::to_string(t) + "/" + std::to_string(i), "v").ok());
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(db->committed_writes(), static_cast<std::uint64_t>(writers * each));
  // 64 writers each waiting for their commit: transactions must carry many writes each.
  EXPECT_LT(db->commits(), static_cast<std::uint64_t>(writers * each) / 4) << "commits: " << db->commits();
}

TEST_F(sqlite_backend_test, background_checkpoints_keep_the_wal_bounded) {
  sqlite_options o;
  o.path = path_;
  o.checkpoint_frames = 200;  // about 800 KB of WAL wakes the checkpointer
  auto opened = sqlite_backend::open(o);
  ASSERT_TRUE(opened.ok());
  auto& db = *opened;
  const std::string value(1024, 'v');
  auto write_10mb = [&] {
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < 1250; ++i) ASSERT_TRUE(db->put("w/" + std::to_string(t) + "/" + random_alnum(16), value).ok());
      });
    }
    for (auto& th : ts) th.join();
  };
  // Random keys: every 1 KB value rewrites whole pages, so 10 MB of values are ~150 MB of WAL frames.
  write_10mb();
  const auto first = std::filesystem::file_size(path_ + "-wal");
  write_10mb();
  const auto second = std::filesystem::file_size(path_ + "-wal");
  // Bounded: the WAL does not grow with what was written (without the checkpoints it held all
  // ~300 MB). Its high-water mark depends on scheduling (7.7 MB under AddressSanitizer), so the bound
  // is absolute rather than relative to the first round.
  EXPECT_LT(first, 24u * 1024 * 1024) << "WAL is " << first << " bytes after the first round";
  EXPECT_LT(second, 24u * 1024 * 1024) << "WAL is " << second << " bytes after the second round";
  EXPECT_GT(std::filesystem::file_size(path_), 15u * 1024 * 1024) << "the pages were checkpointed into the database";
  EXPECT_EQ(db->list("w/")->size(), 8u);
}

TEST_F(sqlite_backend_test, corrupt_file_is_a_clear_error) {
  std::filesystem::create_directories(dir_);
  std::ofstream(path_) << std::string(8192, 'Z');
  std::filesystem::permissions(path_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  sqlite_options o;
  o.path = path_;
  auto r = sqlite_backend::open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find(path_), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("file is not a database"), std::string::npos) << r.err().message;
}

TEST_F(sqlite_backend_test, disk_full_fails_the_write_and_keeps_what_was_committed) {
  auto db = open(/*max_pages=*/40);
  ASSERT_TRUE(db->put("early", "kept").ok());
  const std::string chunk(4000, 'x');
  status last = ok_v;
  int written = 0;
  for (int i = 0; i < 200; ++i) {
    last = db->put("fill/" + std::to_string(i), chunk);
    if (!last) break;
    ++written;
  }
  ASSERT_FALSE(last.ok()) << "never filled";
  EXPECT_EQ(last.err().code, make_error_code(errc::storage_failure));
  EXPECT_NE(last.err().message.find("fill/" + std::to_string(written)), std::string::npos) << last.err().message;
  EXPECT_NE(last.err().message.find("full"), std::string::npos) << last.err().message;
  EXPECT_EQ(**db->get("early"), "kept");
  for (int i = 0; i < written; ++i) EXPECT_TRUE(db->get("fill/" + std::to_string(i))->has_value());
  // Freeing space makes writes work again.
  for (int i = 0; i < written; ++i) ASSERT_TRUE(db->remove("fill/" + std::to_string(i)).ok());
  EXPECT_TRUE(db->put("after", "ok").ok());
}

TEST_F(sqlite_backend_test, busy_database_is_a_clear_error_then_recovers) {
  auto db = open(0, /*busy_ms=*/200);
  ASSERT_TRUE(db->put("k", "v1").ok());
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto blocked = db->put("k", "v2");
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.err().message.find("locked"), std::string::npos) << blocked.err().message;
  EXPECT_EQ(**db->get("k"), "v1");  // readers are not blocked
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(db->put("k", "v2").ok());
  EXPECT_EQ(**db->get("k"), "v2");
}

TEST_F(sqlite_backend_test, unusable_directory_is_a_clear_error) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  sqlite_options o;
  o.path = (dir_ / "file" / "credbroker.db").string();  // parent is a file
  auto r = sqlite_backend::open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("cannot open storage file"), std::string::npos) << r.err().message;
}

}  // namespace
