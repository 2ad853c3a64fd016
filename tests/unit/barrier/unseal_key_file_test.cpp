// unseal_key_file and the rekey commit that keeps it up to date: what a crash between the steps of
// seal_manager::commit_rekey leaves, and how auto_unseal settles it. Also the commit's storage
// failures: a write that did not land, one that landed but reported a failure, and one whose
// outcome stays unknown.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "broker/barrier/seal_manager.hpp"
#include "broker/barrier/shamir.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::barrier;
namespace fs = std::filesystem;

namespace {

// Forwards to an in-memory store; `after_write` decides what a batch write reports.
class scripted_backend final : public storage::physical {
 public:
  enum class mode { normal, lost, landed_but_failed, unknown };
  result<std::optional<std::string>> get(const std::string& key) override {
    if (mode_ == mode::unknown && failed_once_) return make_error(errc::storage_failure, "connection lost");
    return inner_.get(key);
  }
  result<std::vector<std::string>> list(const std::string& prefix) override { return inner_.list(prefix); }
  status apply(std::vector<storage::operation> ops) override {
    switch (mode_) {
      case mode::normal: return inner_.apply(std::move(ops));
      case mode::lost: failed_once_ = true; return make_error(errc::storage_failure, "disk full");
      case mode::landed_but_failed:
      case mode::unknown:
        if (auto s = inner_.apply(std::move(ops)); !s) return s;
        failed_once_ = true;
        return make_error(errc::storage_failure, "connection lost after the commit was sent");
    }
    return ok_v;
  }
  status scan(const std::string& prefix,
              const std::function<bool(const std::string&, std::string_view)>& visit) override {
    return inner_.scan(prefix, visit);
  }
  void set(mode m) {
    mode_ = m;
    failed_once_ = false;
  }

 private:
  storage::inmem_backend inner_;
  mode mode_ = mode::normal;
  bool failed_once_ = false;
};

class key_file_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("credbroker-keyfile-" + random_alnum(8));
    fs::create_directories(dir_);
    path_ = (dir_ / "unseal.keys").string();
    ASSERT_TRUE(seal_.load().ok());
    auto keys = seal_.init(3, 2);
    ASSERT_TRUE(keys.ok());
    old_ = *keys;
    write_lines(path_, {hex_encode(old_[0].reveal()), base64_encode(old_[1].reveal())});
    seal_.set_key_file(unseal_key_file(path_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write_lines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
    out.close();
    ::chmod(path.c_str(), 0600);
  }
  static std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  // A fresh start: a new manager on the same store, unsealed from the key file.
  status restart() {
    b2_ = std::make_unique<barrier::barrier>(backend_);
    seal2_ = std::make_unique<seal_manager>(backend_, *b2_, "inmem", "test");
    EXPECT_TRUE(seal2_->load().ok());
    return auto_unseal(*seal2_, unseal_key_file(path_), false);
  }
  std::vector<secret> new_shares(const seal_config& c, secret& key) {
    const auto raw = random_bytes(32);
    key = secret(std::string(raw.begin(), raw.end()));
    return *split_root_key(key, c);
  }

  fs::path dir_;
  std::string path_;
  scripted_backend backend_;
  barrier::barrier b_{backend_};
  seal_manager seal_{backend_, b_, "inmem", "test"};
  std::vector<secret> old_;
  std::unique_ptr<barrier::barrier> b2_;
  std::unique_ptr<seal_manager> seal2_;
};

TEST_F(key_file_test, a_rekey_rewrites_the_key_file_with_the_new_threshold_of_keys) {
  secret key;
  auto shares = new_shares({5, 3}, key);
  ASSERT_TRUE(seal_.commit_rekey({5, 3}, key, shares).ok());
  const auto lines = lines_of(path_);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(lines[i], hex_encode(shares[i].reveal()));
  EXPECT_FALSE(fs::exists(path_ + ".rekey"));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(restart().ok());
  EXPECT_FALSE(seal2_->status().sealed);
  EXPECT_EQ(seal2_->status().threshold, 3);
}

// What each crash point of commit_rekey leaves on disk, rebuilt step by step, and what the next
// start makes of it: the new configuration is 4 shares, threshold 3 (the old one 3/2).
TEST_F(key_file_test, every_crash_point_leaves_a_key_file_that_opens_the_store) {
  struct row {
    const char* crash_after;
    bool staged, committed, promoted;
    bool new_keys_open;  // which keys open the store afterwards
  };
  const std::vector<row> rows = {
      {"rekey:after-shares-checked", false, false, false, false},
      {"rekey:after-key-file-staged", true, false, false, false},
      {"rekey:after-commit", true, true, false, true},
      {"rekey:after-key-file-promoted", true, true, true, true},
  };
  const secret old_key(*shamir::combine({old_[0].reveal(), old_[1].reveal()}));
  const auto config_json = [](int n, int t) {
    return "{\"type\":\"shamir\",\"secret_shares\":" + std::to_string(n) + ",\"secret_threshold\":" +
           std::to_string(t) + ",\"cluster_id\":\"c\"}";
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.crash_after);
    // Each row starts from the old keys, in the file and in the store.
    ASSERT_TRUE(restart().ok());
    ASSERT_FALSE(fs::exists(path_ + ".rekey"));
    secret key;
    auto shares = new_shares({4, 3}, key);
    const unseal_key_file file(path_);
    if (r.staged) {
      ASSERT_TRUE(file.stage({shares[0], shares[1], shares[2]}).ok());
    }
    if (r.committed) {
      std::vector<storage::operation> ops;
      ops.push_back(storage::operation::put(seal_manager::config_path, config_json(4, 3)));
      ASSERT_TRUE(b2_->rekey(key, std::move(ops)).ok());
    }
    if (r.promoted) {
      ASSERT_TRUE(file.promote().ok());
    }

    auto started = restart();
    ASSERT_TRUE(started.ok()) << started.err().message;
    EXPECT_FALSE(seal2_->status().sealed);
    EXPECT_FALSE(fs::exists(path_ + ".rekey"));
    EXPECT_EQ(seal2_->status().threshold, r.new_keys_open ? 3 : 2);
    const auto lines = lines_of(path_);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0] == hex_encode(shares[0].reveal()), r.new_keys_open);
    EXPECT_EQ(seal2_->check_shares({shares[0], shares[1], shares[2]}).ok(), r.new_keys_open);
    EXPECT_EQ(seal2_->check_shares({old_[0], old_[1]}).ok(), !r.new_keys_open);
    if (r.new_keys_open) {
      std::vector<storage::operation> ops;
      ops.push_back(storage::operation::put(seal_manager::config_path, config_json(3, 2)));
      ASSERT_TRUE(b2_->rekey(old_key, std::move(ops)).ok());
      write_lines(path_, {hex_encode(old_[0].reveal()), hex_encode(old_[1].reveal())});
    }
  }
}

TEST_F(key_file_test, a_commit_that_did_not_land_changes_nothing) {
  secret key;
  auto shares = new_shares({3, 2}, key);
  backend_.set(scripted_backend::mode::lost);
  auto s = seal_.commit_rekey({3, 2}, key, shares);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().message, "disk full");
  backend_.set(scripted_backend::mode::normal);
  EXPECT_FALSE(seal_.status().sealed);
  EXPECT_FALSE(fs::exists(path_ + ".rekey"));
  EXPECT_TRUE(seal_.check_shares({old_[0], old_[2]}).ok());
  EXPECT_EQ(lines_of(path_)[0], hex_encode(old_[0].reveal()));
  ASSERT_TRUE(restart().ok());
}

TEST_F(key_file_test, a_commit_that_landed_but_reported_a_failure_counts) {
  secret key;
  auto shares = new_shares({3, 2}, key);
  backend_.set(scripted_backend::mode::landed_but_failed);
  ASSERT_TRUE(seal_.commit_rekey({3, 2}, key, shares).ok());
  backend_.set(scripted_backend::mode::normal);
  EXPECT_TRUE(seal_.check_shares({shares[1], shares[2]}).ok());
  EXPECT_EQ(lines_of(path_)[0], hex_encode(shares[0].reveal()));
}

TEST_F(key_file_test, a_commit_whose_outcome_stays_unknown_seals_and_the_next_start_settles_it) {
  secret key;
  auto shares = new_shares({3, 2}, key);
  backend_.set(scripted_backend::mode::unknown);
  auto s = seal_.commit_rekey({3, 2}, key, shares);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().code, make_error_code(errc::storage_failure));
  EXPECT_NE(s.err().message.find("may or may not have been stored"), std::string::npos) << s.err().message;
  EXPECT_TRUE(seal_.status().sealed);
  EXPECT_TRUE(fs::exists(path_ + ".rekey"));  // kept: it may hold the keys the store needs now
  backend_.set(scripted_backend::mode::normal);
  // The write had landed: the start finds the old keys refused and unseals with the staged ones.
  auto started = restart();
  ASSERT_TRUE(started.ok()) << started.err().message;
  EXPECT_FALSE(seal2_->status().sealed);
  EXPECT_EQ(lines_of(path_)[0], hex_encode(shares[0].reveal()));
  EXPECT_FALSE(fs::exists(path_ + ".rekey"));
}

TEST_F(key_file_test, an_unwritable_key_file_directory_refuses_the_rekey_before_anything_changes) {
  if (::geteuid() == 0) {
    // root ignores directory modes: make the staged name a directory instead, which open() refuses.
    fs::create_directories(path_ + ".rekey/x");
  } else {
    ::chmod(dir_.c_str(), 0500);
  }
  secret key;
  auto shares = new_shares({3, 2}, key);
  auto s = seal_.commit_rekey({3, 2}, key, shares);
  ::chmod(dir_.c_str(), 0700);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err().message.find("unseal_key_file: cannot write"), std::string::npos) << s.err().message;
  EXPECT_NE(s.err().message.find("nothing was changed"), std::string::npos);
  EXPECT_TRUE(seal_.check_shares({old_[0], old_[1]}).ok());
  fs::remove_all(path_ + ".rekey");
}

TEST_F(key_file_test, keys_that_open_nothing_name_both_files) {
  secret key;
  auto shares = new_shares({3, 2}, key);
  const unseal_key_file file(path_);
  // Staged keys of a rekey that never committed, and a key file damaged by hand.
  ASSERT_TRUE(file.stage({shares[0], shares[1]}).ok());
  write_lines(path_, {hex_encode(shares[2].reveal()), hex_encode(shares[1].reveal())});
  auto started = restart();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.err().code, make_error_code(errc::permission_denied));
  EXPECT_NE(started.err().message.find(path_ + ".rekey"), std::string::npos) << started.err().message;
  EXPECT_TRUE(seal2_->status().sealed);
}

TEST(unseal_key_file_read, refusals) {
  const fs::path dir = fs::temp_directory_path() / ("credbroker-keyfile-" + random_alnum(8));
  fs::create_directories(dir);
  const std::string path = (dir / "k").string();
  EXPECT_EQ(unseal_key_file::read(path).err().message, "unseal_key_file \"" + path + "\": cannot read it");
  { std::ofstream(path) << "not a key!\n"; }
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(unseal_key_file::read(path).err().message,
            "unseal_key_file \"" + path + "\" is readable by group or others (mode 0644): run chmod 600 on it");
  ::chmod(path.c_str(), 0600);
  EXPECT_EQ(unseal_key_file::read(path).err().message, "unseal_key_file \"" + path + "\": a line is not a hex or base64 key");
  { std::ofstream(path) << "00ff \r\n\n" << base64_encode("abc") << "\n"; }
  auto keys = unseal_key_file::read(path);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].reveal(), std::string("\x00\xff", 2));
  EXPECT_EQ((*keys)[1].reveal(), "abc");
  fs::remove_all(dir);
}

}  // namespace
