// sqlite_snapshot: a copy taken while writers commit holds whole batches only and opens as a store;
// an existing target, a missing source and a damaged or foreign file are refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "broker/core/random.hpp"
#include "broker/storage/sqlite_backend.hpp"
#include "broker/storage/sqlite_snapshot.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

class sqlite_snapshot_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("credbroker-snapshot-" + random_alnum(12));
    std::filesystem::create_directories(dir_ / "src");
    std::filesystem::permissions(dir_ / "src", std::filesystem::perms::owner_all);
    source_ = (dir_ / "src" / "credbroker.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<sqlite_backend> open(const std::string& path) {
    sqlite_options o;
    o.path = path;
    auto r = sqlite_backend::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::filesystem::path dir_;
  std::string source_;
};

TEST_F(sqlite_snapshot_test, a_copy_taken_while_batches_commit_holds_whole_batches_and_opens) {
  auto db = open(source_);
  ASSERT_NE(db, nullptr);
  // Each batch writes a/<n> and b/<n> together: a copy must hold both or neither of every pair.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int n = 0; !stop.load(); ++n) {
      std::vector<operation> ops;
      ops.push_back(operation::put("a/" + std::to_string(n), "x"));
      ops.push_back(operation::put("b/" + std::to_string(n), "y"));
      ASSERT_TRUE(db->apply(std::move(ops)));
      written = n + 1;
    }
  });
  while (written.load() < 200) std::this_thread::yield();
  const std::string copy = (dir_ / "copy.db").string();
  auto r = snapshot_sqlite(source_, copy);
  stop = true;
  writer.join();
  ASSERT_TRUE(r.ok()) << r.err().message;
  struct stat st {};
  ASSERT_EQ(::stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_GE(r->keys, 400u);
  EXPECT_EQ(r->keys % 2, 0u) << "half a batch in the copy";
  EXPECT_EQ(r->bytes, static_cast<std::uint64_t>(st.st_size));
  // The copy opens as a store with the same pairs.
  const auto restored_dir = dir_ / "restored";
  std::filesystem::create_directories(restored_dir);
  std::filesystem::permissions(restored_dir, std::filesystem::perms::owner_all);
  std::filesystem::copy_file(copy, restored_dir / "credbroker.db");
  auto back = open((restored_dir / "credbroker.db").string());
  ASSERT_NE(back, nullptr);
  auto a = back->list("a/");
  auto b = back->list("b/");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), r->keys / 2);
  EXPECT_EQ(*a, *b);
}

TEST_F(sqlite_snapshot_test, refusals) {
  const std::string copy = (dir_ / "copy.db").string();
  {
    SCOPED_TRACE("missing source: nothing left behind");
    auto r = snapshot_sqlite(source_, copy);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, make_error_code(errc::invalid_request));
    EXPECT_FALSE(std::filesystem::exists(copy));
  }
  ASSERT_NE(open(source_), nullptr);
  {
    SCOPED_TRACE("existing target is never overwritten");
    std::ofstream(copy) << "keep me";
    auto r = snapshot_sqlite(source_, copy);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, make_error_code(errc::invalid_request));
    std::ifstream in(copy);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
  }
  {
    SCOPED_TRACE("a damaged file is not a store");
    const std::string bad = (dir_ / "bad.db").string();
    std::ofstream(bad) << std::string("SQLite format 3") + '\0' + std::string(4096, 'z');
    EXPECT_FALSE(check_sqlite_store(bad).ok());
  }
  {
    SCOPED_TRACE("a store checks out");
    auto r = check_sqlite_store(source_);
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(r->keys, 0u);
  }
}

}  // namespace
