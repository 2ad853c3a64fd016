#include <gtest/gtest.h>

#include "broker/barrier/seal_manager.hpp"
#include "broker/core/encoding.hpp"
#include "support/test_store.hpp"

using namespace credbroker;
using namespace credbroker::barrier;

namespace {

class seal_test : public ::testing::Test {
 protected:
  test::test_store backend_;
  barrier::barrier b_{backend_};
  seal_manager seal_{backend_, b_, "inmem", "test"};
};

TEST_F(seal_test, init_unseal_seal_cycle) {
  ASSERT_TRUE(seal_.load().ok());
  EXPECT_FALSE(seal_.status().initialized);
  int unseals = 0, seals = 0;
  seal_.on_unseal([&] { ++unseals; });
  seal_.on_seal([&] { ++seals; });
  auto keys = seal_.init(5, 3);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 5u);
  EXPECT_FALSE(seal_.status().sealed);  // left unsealed for the root token
  ASSERT_TRUE(seal_.seal().ok());
  EXPECT_TRUE(seal_.status().sealed);

  auto s1 = seal_.unseal((*keys)[4]);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1->progress, 1);
  EXPECT_FALSE(s1->nonce.empty());
  auto dup = seal_.unseal((*keys)[4]);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.err().message, "this unseal key was already provided in this attempt");
  auto s2 = seal_.unseal((*keys)[1]);
  EXPECT_EQ(s2->progress, 2);
  EXPECT_EQ(s2->nonce, s1->nonce);
  auto s3 = seal_.unseal((*keys)[2]);
  ASSERT_TRUE(s3.ok());
  EXPECT_FALSE(s3->sealed);
  EXPECT_EQ(s3->progress, 0);
  EXPECT_EQ(unseals, 2);
  EXPECT_EQ(seals, 1);

  // A fresh manager over the same storage sees the configuration.
  barrier::barrier b2(backend_);
  seal_manager again(backend_, b2, "inmem", "test");
  ASSERT_TRUE(again.load().ok());
  EXPECT_TRUE(again.status().initialized);
  EXPECT_TRUE(again.status().sealed);
  EXPECT_EQ(again.status().threshold, 3);
  EXPECT_EQ(again.status().shares, 5);
}

TEST_F(seal_test, wrong_keys_reset_progress) {
  auto keys = seal_.init(3, 2);
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(seal_.seal().ok());
  test::test_store other_backend;
  barrier::barrier other_barrier(other_backend);
  seal_manager unrelated(other_backend, other_barrier, "inmem", "x");
  auto foreign = unrelated.init(3, 2);
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(seal_.unseal((*keys)[0]).ok());
  auto bad = seal_.unseal((*foreign)[1]);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.err().message.find("invalid key"), std::string::npos) << bad.err().message;
  EXPECT_EQ(seal_.status().progress, 0);
  EXPECT_TRUE(seal_.status().sealed);
  auto wrong_size = seal_.unseal(secret("short"));
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_EQ(wrong_size.err().message, "invalid unseal key: expected 33 bytes, got 5");
}

TEST_F(seal_test, reset_forgets_progress) {
  auto keys = seal_.init(3, 2);
  ASSERT_TRUE(seal_.seal().ok());
  ASSERT_TRUE(seal_.unseal((*keys)[0]).ok());
  seal_.reset();
  EXPECT_EQ(seal_.status().progress, 0);
  EXPECT_EQ(seal_.status().nonce, "");
}

TEST_F(seal_test, init_configuration_table) {
  const std::vector<std::tuple<int, int, const char*>> cases = {
      {0, 0, "invalid seal configuration: secret_shares must be at least 1"},
      {256, 3, "invalid seal configuration: secret_shares must be at most 255"},
      {3, 0, "invalid seal configuration: secret_threshold must be at least 1"},
      {3, 4, "invalid seal configuration: secret_threshold cannot be larger than secret_shares"},
      {3, 1, "invalid seal configuration: secret_threshold must be greater than 1 when secret_shares is greater than 1"},
  };
  for (const auto& [n, t, msg] : cases) {
    auto r = seal_.init(n, t);
    ASSERT_FALSE(r.ok()) << n << "/" << t;
    EXPECT_EQ(r.err().message, msg);
  }
  auto one = seal_.init(1, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0].size(), 32u);  // a single key is the root key
  EXPECT_EQ(seal_.init(1, 1).err().message, "Vault is already initialized");
  ASSERT_TRUE(seal_.seal().ok());
  EXPECT_FALSE(seal_.unseal((*one)[0])->sealed);
}

// The security state a store must hold (barrier/store_layout.hpp), with a fake "salt" and "table".
class layout_test : public ::testing::Test {
 protected:
  void SetUp() override { reset_manager(); }
  void reset_manager() {
    b_ = std::make_unique<barrier::barrier>(backend_);
    seal_ = std::make_unique<seal_manager>(backend_, *b_, "inmem", "test");
    seal_->layout().require({"t/salt", "the salt", "every token stops working", [] { return std::string("fresh-salt"); },
                             {"t/id/"}});
    seal_->layout().require({"t/table", "the table", "every mount is dropped", [] { return std::string("[]"); }, {"data/"}});
    seal_->layout().add_upgrade({2, "count", [this] {
                                   ++upgrades_;
                                   return upgrade_result_;
                                 }});
    ASSERT_TRUE(seal_->load());
  }
  // A store as the first release left it: initialised, no layout version, salt and table missing,
  // and these keys written.
  secret layout_1_store(const std::vector<std::string>& written = {}) {
    auto keys = seal_->init(1, 1);
    EXPECT_TRUE(keys);
    std::vector<storage::operation> ops{storage::operation::remove(store_layout::path),
                                        storage::operation::remove("t/salt"), storage::operation::remove("t/table")};
    for (const auto& k : written) ops.push_back(storage::operation::put(k, "v"));
    EXPECT_TRUE(b_->apply(std::move(ops)));
    EXPECT_TRUE(seal_->seal());
    return (*keys)[0];
  }
  std::optional<std::string> read(const std::string& key) { return *b_->get(key); }

  test::test_store backend_;
  std::unique_ptr<barrier::barrier> b_;
  std::unique_ptr<seal_manager> seal_;
  int upgrades_ = 0;
  status upgrade_result_ = ok_v;
};

TEST_F(layout_test, init_writes_the_state_and_the_layout_with_the_keyring) {
  auto keys = seal_->init(1, 1);
  ASSERT_TRUE(keys);
  EXPECT_EQ(read("t/salt"), "fresh-salt");
  EXPECT_EQ(read("t/table"), "[]");
  EXPECT_EQ(read(store_layout::path), "{\"version\":2}");
  EXPECT_EQ(upgrades_, 0);  // a new store is born at the current layout
  EXPECT_TRUE(backend_.snapshot().contains(seal_manager::config_path));
  ASSERT_TRUE(seal_->seal());
  EXPECT_FALSE(seal_->unseal((*keys)[0])->sealed);
  EXPECT_EQ(upgrades_, 0);
}

TEST_F(layout_test, missing_state_refuses_the_unseal_naming_it) {
  auto keys = seal_->init(1, 1);
  ASSERT_TRUE(b_->remove("t/salt"));
  ASSERT_TRUE(b_->remove("t/table"));
  ASSERT_TRUE(seal_->seal());
  int unseals = 0;
  seal_->on_unseal([&] { ++unseals; });
  auto r = seal_->unseal((*keys)[0]);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::integrity_failure));
  EXPECT_EQ(r.err().message,
            "storage is damaged, refusing to unseal: missing the salt (t/salt), the table (t/table). Restore the data "
            "directory from a backup; or, to accept the loss, start the server once with -fresh-store to recreate it "
            "empty (every token stops working; every mount is dropped)");
  EXPECT_TRUE(seal_->status().sealed);
  EXPECT_TRUE(b_->sealed());
  EXPECT_EQ(unseals, 0);  // nothing ran on a damaged store
  EXPECT_FALSE(seal_->unseal((*keys)[0]));  // and again: nothing was papered over

  // The operator accepts the loss: recreated empty, once.
  seal_->layout().accept_lost_state(true);
  ASSERT_TRUE(seal_->unseal((*keys)[0]));
  EXPECT_EQ(unseals, 1);
  EXPECT_EQ(read("t/salt"), "fresh-salt");
  EXPECT_EQ(read("t/table"), "[]");
}

TEST_F(layout_test, a_layout_1_store_gets_what_it_never_wrote_and_is_upgraded_once) {
  const secret key = layout_1_store();
  ASSERT_TRUE(seal_->unseal(key));
  EXPECT_EQ(read("t/salt"), "fresh-salt");
  EXPECT_EQ(read("t/table"), "[]");
  EXPECT_EQ(read(store_layout::path), "{\"version\":2}");
  EXPECT_EQ(upgrades_, 1);
  ASSERT_TRUE(seal_->seal());
  ASSERT_TRUE(seal_->unseal(key));
  EXPECT_EQ(upgrades_, 1);  // once
}

TEST_F(layout_test, in_a_layout_1_store_evidence_of_a_lost_key_is_damage) {
  const secret key = layout_1_store({"t/id/abc", "data/x/y"});  // tokens without a salt, data without a table
  auto r = seal_->unseal(key);
  ASSERT_FALSE(r);
  EXPECT_NE(r.err().message.find("missing the salt (t/salt), the table (t/table)"), std::string::npos) << r.err().message;
  EXPECT_TRUE(seal_->status().sealed);
  EXPECT_EQ(upgrades_, 0);
}

TEST_F(layout_test, a_failed_upgrade_refuses_the_unseal_and_runs_again_next_time) {
  const secret key = layout_1_store();
  upgrade_result_ = make_error(errc::storage_failure, "disk full");
  auto r = seal_->unseal(key);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().message, "storage layout upgrade to 2 (count) failed: disk full");
  EXPECT_TRUE(seal_->status().sealed);
  upgrade_result_ = ok_v;
  ASSERT_TRUE(seal_->unseal(key));
  EXPECT_EQ(upgrades_, 2);
  EXPECT_EQ(read(store_layout::path), "{\"version\":2}");
}

TEST_F(layout_test, a_newer_layout_is_refused) {
  auto keys = seal_->init(1, 1);
  ASSERT_TRUE(b_->put(store_layout::path, "{\"version\":3}"));
  ASSERT_TRUE(seal_->seal());
  auto r = seal_->unseal((*keys)[0]);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().message, "the store has layout 3, newer than this credbroker understands (2): run the release that wrote it");
}

TEST_F(layout_test, load_refuses_data_without_a_seal_configuration_or_a_keyring) {
  auto keys = seal_->init(1, 1);
  ASSERT_TRUE(keys);
  // The seal configuration deleted: initialising again would overwrite the keyring.
  const auto saved = backend_.snapshot().at(seal_manager::config_path);
  ASSERT_TRUE(backend_.remove(seal_manager::config_path));
  barrier::barrier b2(backend_);
  seal_manager again(backend_, b2, "inmem", "test");
  auto r = again.load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::integrity_failure));
  EXPECT_NE(r.err().message.find("the seal configuration (core/seal-config) is missing, but the store holds data (core/"),
            std::string::npos)
      << r.err().message;
  // The keyring deleted: nothing can be decrypted.
  backend_.poke(seal_manager::config_path, saved);
  ASSERT_TRUE(backend_.remove(barrier::barrier::keyring_path));
  auto k = again.load();
  ASSERT_FALSE(k);
  EXPECT_NE(k.err().message.find("the keyring (core/keyring) is missing"), std::string::npos) << k.err().message;
  // An empty store is simply new.
  test::test_store empty;
  barrier::barrier b3(empty);
  seal_manager fresh(empty, b3, "inmem", "test");
  ASSERT_TRUE(fresh.load());
  EXPECT_FALSE(fresh.status().initialized);
}

TEST(seal_keys, hex_and_base64_decode) {
  EXPECT_EQ(*decode_key("6869"), "hi");
  EXPECT_EQ(*decode_key(base64_encode("any bytes\x01")), "any bytes\x01");
  EXPECT_EQ(*decode_key(hex_encode(std::string("\x00\xff", 2))), std::string("\x00\xff", 2));
  EXPECT_EQ(*base64_decode(base64_encode("ab")), "ab");
  EXPECT_EQ(*base64_decode(base64_encode("abc")), "abc");
  EXPECT_EQ(*base64_decode(base64_encode("abcd")), "abcd");
  EXPECT_FALSE(hex_decode("abc").has_value());
  EXPECT_FALSE(decode_key("not a key!").has_value());
  EXPECT_FALSE(decode_key("").has_value());
}

}  // namespace
