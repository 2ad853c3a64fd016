// file_sink: one write(2) per line on an O_APPEND file with the device's mode, reopened by name
// (log rotation), retried after a failure, and never chmod-ing anything but a regular file.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker/audit/file_sink.hpp"
#include "broker/core/random.hpp"

using namespace credbroker;
using credbroker::audit::file_sink;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class file_sink_test : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("credbroker-file-sink-" + random_alnum(10));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(file_sink_test, appends_lines_with_mode_0600_and_creates_missing_directories) {
  const auto path = dir_ / "logs" / "audit.log";
  auto s = file_sink::open(path.string(), 0600);
  ASSERT_TRUE(s) << s.err().message;
  ASSERT_TRUE((*s)->write("one\n"));
  ASSERT_TRUE((*s)->write("two\n"));
  EXPECT_EQ(read_all(path), "one\ntwo\n");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir_ / "logs"), 0700u);
  EXPECT_TRUE((*s)->direct());
}

TEST_F(file_sink_test, the_mode_is_applied_to_an_existing_file_and_mode_0_keeps_it) {
  const auto path = dir_ / "audit.log";
  std::ofstream(path) << "old\n";
  fs::permissions(path, fs::perms(0644));
  ASSERT_TRUE(file_sink::open(path.string(), 0640));
  EXPECT_EQ(mode_of(path), 0640u);
  fs::permissions(path, fs::perms(0604));
  auto s = file_sink::open(path.string(), 0);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->write("new\n"));
  EXPECT_EQ(mode_of(path), 0604u);
  EXPECT_EQ(read_all(path), "old\nnew\n");
}

TEST_F(file_sink_test, reopen_after_a_rename_writes_to_a_new_file) {
  const auto path = dir_ / "audit.log";
  auto s = file_sink::open(path.string(), 0600);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->write("before\n"));
  fs::rename(path, dir_ / "audit.log.1");
  ASSERT_TRUE((*s)->write("still the old file\n"));  // the descriptor follows the renamed file
  ASSERT_TRUE((*s)->reopen());
  ASSERT_TRUE((*s)->write("after\n"));
  EXPECT_EQ(read_all(dir_ / "audit.log.1"), "before\nstill the old file\n");
  EXPECT_EQ(read_all(path), "after\n");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST_F(file_sink_test, a_path_that_cannot_be_opened_fails_and_recovers_once_it_can) {
  const auto path = dir_ / "audit.log";
  auto s = file_sink::open(path.string(), 0600);
  ASSERT_TRUE(s);
  fs::rename(path, dir_ / "audit.log.1");
  fs::create_directories(path);  // the rotation went wrong: a directory where the log should be
  EXPECT_FALSE((*s)->reopen());
  const auto w = (*s)->write("lost\n");
  ASSERT_FALSE(w);
  EXPECT_NE(w.err().message.find("Is a directory"), std::string::npos) << w.err().message;
  fs::remove(path);
  ASSERT_TRUE((*s)->write("back\n"));
  EXPECT_EQ(read_all(path), "back\n");
  // Enabling on such a path fails at once; a lazy sink (unseal) waits for it instead.
  fs::create_directories(dir_ / "d");
  EXPECT_FALSE(file_sink::open((dir_ / "d").string(), 0600));
  auto lazy = file_sink::open((dir_ / "d").string(), 0600, true);
  ASSERT_TRUE(lazy);
  EXPECT_FALSE((*lazy)->write("x\n"));
}

TEST_F(file_sink_test, a_full_device_fails_the_write_and_is_never_chmodded) {
  const unsigned before = mode_of("/dev/full");
  auto s = file_sink::open("/dev/full", 0600);
  ASSERT_TRUE(s) << s.err().message;
  const auto w = (*s)->write("x\n");
  ASSERT_FALSE(w);
  EXPECT_NE(w.err().message.find("No space left on device"), std::string::npos) << w.err().message;
  EXPECT_EQ(mode_of("/dev/full"), before);
}

TEST_F(file_sink_test, discard_records_everything_and_writes_nothing) {
  for (const char* name : {"discard", "DISCARD", "Discard"}) {
    auto s = file_sink::open(name, 0600);
    ASSERT_TRUE(s);
    EXPECT_TRUE((*s)->write("x\n"));
    EXPECT_TRUE((*s)->reopen());
  }
  EXPECT_FALSE(fs::exists("discard"));
}

TEST_F(file_sink_test, concurrent_lines_never_interleave) {
  const auto path = dir_ / "audit.log";
  auto s = file_sink::open(path.string(), 0600);
  ASSERT_TRUE(s);
  constexpr int threads = 8, per_thread = 400;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      const std::string line = std::string(200 + t * 50, static_cast<char>('a' + t)) + "\n";
      for (int i = 0; i < per_thread; ++i) EXPECT_TRUE((*s)->write(line));
    });
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*s)->reopen());
  for (auto& t : ts) t.join();
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find_first_not_of(line[0]), std::string::npos);
    EXPECT_EQ(line.size(), 200u + static_cast<unsigned>(line[0] - 'a') * 50);
  }
  EXPECT_EQ(lines, threads * per_thread);
}

}  // namespace
