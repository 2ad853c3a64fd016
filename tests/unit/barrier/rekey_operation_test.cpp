// rekey_operation: the rekey state machine over a real seal manager and barrier (fake clock for the
// cancel rule).
#include <gtest/gtest.h>

#include "broker/barrier/rekey_operation.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::barrier;

namespace {

class rekey_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(seal_.load().ok());
    auto keys = seal_.init(5, 3);
    ASSERT_TRUE(keys.ok());
    old_ = *keys;
    ASSERT_TRUE(b_.put("secret/data", "kept").ok());
  }

  // Seals, then unseals with `keys` (all of them, in order, until unsealed); true when unsealed.
  bool reopen_with(const std::vector<secret>& keys) {
    EXPECT_TRUE(seal_.seal().ok());
    for (const auto& k : keys) {
      auto r = seal_.unseal(k);
      if (!r) {
        seal_.reset();
        return false;
      }
      if (!r->sealed) return true;
    }
    seal_.reset();
    return false;
  }

  // Gives the first `n` old shares.
  result<std::optional<rekey_result>> give_old(std::size_t n, const std::string& nonce) {
    result<std::optional<rekey_result>> last = std::optional<rekey_result>{};
    for (std::size_t i = 0; i < n; ++i) {
      last = op_.update(old_[i], nonce);
      if (!last) return last;
    }
    return last;
  }

  storage::inmem_backend backend_;
  barrier::barrier b_{backend_};
  seal_manager seal_{backend_, b_, "inmem", "test"};
  fake_clock clock_;
  rekey_operation op_{seal_, clock_};
  std::vector<secret> old_;
};

TEST_F(rekey_test, new_shares_replace_the_old_ones) {
  auto idle = op_.status();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->started);
  EXPECT_EQ(idle->required, 3);
  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  auto st = op_.status();
  ASSERT_TRUE(st->started);
  EXPECT_EQ(st->new_shares, 3);
  EXPECT_EQ(st->new_threshold, 2);
  EXPECT_FALSE(st->verification_required);
  const std::string nonce = st->nonce;

  auto one = op_.update(old_[4], nonce);
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->has_value());
  EXPECT_EQ(op_.status()->progress, 1);
  ASSERT_TRUE(op_.update(old_[0], nonce).ok());
  auto done = op_.update(old_[2], nonce);
  ASSERT_TRUE(done.ok()) << done.err().message;
  ASSERT_TRUE(done->has_value());
  const rekey_result& r = **done;
  EXPECT_EQ(r.nonce, nonce);
  ASSERT_EQ(r.keys.size(), 3u);
  EXPECT_EQ(r.keys[0].size(), 33u);
  EXPECT_FALSE(r.verification_required);
  EXPECT_FALSE(op_.status()->started);
  EXPECT_EQ(op_.status()->required, 2);
  EXPECT_EQ(seal_.status().shares, 3);
  EXPECT_EQ(seal_.status().threshold, 2);

  EXPECT_FALSE(reopen_with(old_));
  EXPECT_TRUE(reopen_with({r.keys[2], r.keys[0]}));
  EXPECT_EQ(**b_.get("secret/data"), "kept");
  // A manager loading the same store sees the new configuration.
  barrier::barrier b2(backend_);
  seal_manager again(backend_, b2, "inmem", "test");
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.status().shares, 3);
  EXPECT_EQ(again.status().threshold, 2);
}

TEST_F(rekey_test, rotate_after_a_rekey_writes_the_keyring_under_the_new_root_key) {
  ASSERT_TRUE(op_.start({1, 1, false}).ok());
  auto done = give_old(3, op_.status()->nonce);
  ASSERT_TRUE(done.ok() && done->has_value());
  const auto keys = (**done).keys;
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].size(), 32u);  // one share: the root key itself
  auto term = b_.rotate();
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->term, 2u);
  ASSERT_TRUE(b_.put("secret/after", "rotated").ok());
  EXPECT_FALSE(reopen_with(old_));
  ASSERT_TRUE(reopen_with(keys));
  EXPECT_EQ(b_.key_status()->term, 2u);
  EXPECT_EQ(**b_.get("secret/data"), "kept");
  EXPECT_EQ(**b_.get("secret/after"), "rotated");
}

TEST_F(rekey_test, with_verification_nothing_changes_until_the_new_shares_come_back) {
  ASSERT_TRUE(op_.start({4, 3, true}).ok());
  const std::string nonce = op_.status()->nonce;
  EXPECT_TRUE(op_.status()->verification_required);
  EXPECT_EQ(op_.verification()->started, false);
  auto done = give_old(3, nonce);
  ASSERT_TRUE(done.ok() && done->has_value()) << (done ? "" : done.err().message);
  const rekey_result r = **done;
  ASSERT_EQ(r.keys.size(), 4u);
  EXPECT_TRUE(r.verification_required);
  const std::string vnonce = r.verification_nonce;
  EXPECT_EQ(vnonce.size(), 36u);
  EXPECT_NE(vnonce, nonce);
  EXPECT_EQ(op_.status()->verification_nonce, vnonce);
  // Not committed: the old shares still reconstruct the root key.
  EXPECT_TRUE(seal_.check_shares({old_[0], old_[1], old_[2]}).ok());
  EXPECT_EQ(seal_.status().threshold, 3);
  EXPECT_EQ(op_.update(old_[3], nonce).err().message,
            "rekey operation already finished; verification must be performed; nonce for the verification operation "
            "is \"" + vnonce + "\"");

  auto v = op_.verification();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->started);
  EXPECT_EQ(v->nonce, vnonce);
  EXPECT_EQ(v->new_shares, 4);
  EXPECT_EQ(v->new_threshold, 3);
  EXPECT_EQ(op_.verify(r.keys[0], "wrong").err().message,
            "incorrect nonce supplied; nonce for this verify operation is \"" + vnonce + "\"");
  // Old shares are not the new ones: refused, progress cleared, a new verification nonce.
  ASSERT_TRUE(op_.verify(old_[0], vnonce).ok());
  ASSERT_TRUE(op_.verify(old_[1], vnonce).ok());
  auto wrong = op_.verify(old_[2], vnonce);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.err().message, "rekey verification failed; incorrect key shares supplied");
  const std::string vnonce2 = op_.verification()->nonce;
  EXPECT_NE(vnonce2, vnonce);
  EXPECT_EQ(op_.verification()->progress, 0);
  EXPECT_TRUE(seal_.check_shares({old_[0], old_[1], old_[2]}).ok());

  // A restart of the verification changes the nonce again and forgets progress.
  ASSERT_TRUE(op_.verify(r.keys[3], vnonce2).ok());
  ASSERT_TRUE(op_.restart_verification().ok());
  const std::string vnonce3 = op_.verification()->nonce;
  EXPECT_NE(vnonce3, vnonce2);
  EXPECT_EQ(op_.verification()->progress, 0);

  ASSERT_TRUE(op_.verify(r.keys[3], vnonce3).ok());
  EXPECT_EQ(op_.verify(r.keys[3], vnonce3).err().message,
            "given key has already been provided during this verify operation");
  ASSERT_TRUE(op_.verify(r.keys[1], vnonce3).ok());
  auto committed = op_.verify(r.keys[0], vnonce3);
  ASSERT_TRUE(committed.ok()) << committed.err().message;
  ASSERT_TRUE(committed->has_value());
  EXPECT_EQ(**committed, vnonce3);
  EXPECT_FALSE(op_.status()->started);
  EXPECT_EQ(op_.verification().err().message, "no rekey configuration found");
  EXPECT_EQ(seal_.status().threshold, 3);
  EXPECT_EQ(seal_.status().shares, 4);
  EXPECT_FALSE(reopen_with(old_));
  EXPECT_TRUE(reopen_with({r.keys[1], r.keys[2], r.keys[3]}));
}

TEST_F(rekey_test, refusals) {
  struct config_row {
    int shares, threshold;
    const char* message;
  };
  for (const auto& c : std::vector<config_row>{{0, 0, "shares must be at least one"},
                                               {3, 0, "threshold must be at least one"},
                                               {3, 1, "threshold must be greater than one for multiple shares"},
                                               {2, 3, "threshold cannot be larger than shares"},
                                               {256, 3, "shares must be less than 256"}}) {
    SCOPED_TRACE(std::to_string(c.shares) + "/" + std::to_string(c.threshold));
    EXPECT_EQ(op_.start({c.shares, c.threshold, false}).err().message, c.message);
  }
  EXPECT_EQ(op_.update(old_[0], "x").err().message, "no barrier rekey in progress");
  EXPECT_EQ(op_.verify(old_[0], "x").err().message, "no rekey in progress");
  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  const std::string nonce = op_.status()->nonce;
  ASSERT_TRUE(op_.update(old_[0], nonce).ok());
  struct row {
    const char* what;
    std::function<status()> call;
    std::string message;
  };
  const std::vector<row> rows = {
      {"a second start", [&] { return op_.start({3, 2, false}); }, "rekey already in progress"},
      {"wrong nonce", [&] { return status(op_.update(old_[1], "other").err()); },
       "incorrect nonce supplied; nonce for this rekey operation is \"" + nonce + "\""},
      {"the same share twice", [&] { return status(op_.update(old_[0], nonce).err()); },
       "given key has already been provided during this generation operation"},
      {"a short key", [&] { return status(op_.update(secret("tiny"), nonce).err()); }, "key is shorter than minimum 16 bytes"},
      {"verify without verification", [&] { return status(op_.verify(old_[1], nonce).err()); },
       "no rekey verification in progress"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.what);
    auto s = r.call();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.err().message, r.message);
  }
  EXPECT_EQ(op_.status()->progress, 1);
}

TEST_F(rekey_test, shares_that_do_not_reconstruct_the_root_key_change_nothing) {
  storage::inmem_backend other_backend;
  barrier::barrier other_barrier(other_backend);
  seal_manager other(other_backend, other_barrier, "inmem", "other");
  auto foreign = other.init(5, 3);
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  const std::string nonce = op_.status()->nonce;
  ASSERT_TRUE(op_.update(old_[0], nonce).ok());
  ASSERT_TRUE(op_.update(old_[1], nonce).ok());
  auto bad = op_.update((*foreign)[2], nonce);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, make_error_code(errc::permission_denied));
  EXPECT_EQ(bad.err().message, "root key verification failed: the key shares do not reconstruct the root key");
  EXPECT_EQ(op_.status()->progress, 0);
  EXPECT_EQ(op_.status()->nonce, nonce);
  EXPECT_EQ(seal_.status().threshold, 3);
  // Shares of another length do not even combine.
  ASSERT_TRUE(op_.update(old_[0], nonce).ok());
  ASSERT_TRUE(op_.update(old_[1], nonce).ok());
  auto mixed = op_.update(secret(std::string(20, 'x')), nonce);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.err().message, "failed to compute root key: all shares must be the same length");
  EXPECT_TRUE(reopen_with(old_));
}

TEST_F(rekey_test, a_young_attempt_is_cancelled_only_with_its_nonce_or_by_root) {
  EXPECT_TRUE(op_.cancel("", false).ok());  // none: fine
  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  const std::string nonce = op_.status()->nonce;
  EXPECT_EQ(op_.cancel("", false).err().message,
            "the rekey was initialized less than 10 minutes ago: give its nonce to cancel it");
  EXPECT_EQ(op_.cancel("other", true).err().message,
            "incorrect nonce supplied; nonce for this rekey operation is \"" + nonce + "\"");
  EXPECT_TRUE(op_.status()->started);
  ASSERT_TRUE(op_.cancel(nonce, false).ok());
  EXPECT_FALSE(op_.status()->started);

  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  ASSERT_TRUE(op_.cancel("", true).ok());
  EXPECT_FALSE(op_.status()->started);

  ASSERT_TRUE(op_.start({3, 2, false}).ok());
  clock_.advance(std::chrono::minutes(9));
  EXPECT_FALSE(op_.cancel("", false).ok());
  clock_.advance(std::chrono::minutes(1));
  ASSERT_TRUE(op_.cancel("", false).ok());
  EXPECT_FALSE(op_.status()->started);
}

TEST_F(rekey_test, a_seal_discards_the_attempt_and_its_uncommitted_key) {
  ASSERT_TRUE(op_.start({3, 2, true}).ok());
  auto done = give_old(3, op_.status()->nonce);
  ASSERT_TRUE(done.ok() && done->has_value());
  const auto fresh = (**done).keys;
  ASSERT_TRUE(seal_.seal().ok());
  EXPECT_EQ(op_.status().err().code, make_error_code(errc::sealed));
  EXPECT_EQ(op_.verify(fresh[0], "x").err().code, make_error_code(errc::sealed));
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(seal_.unseal(old_[i]).ok());
  EXPECT_FALSE(op_.status()->started);
  EXPECT_FALSE(reopen_with(fresh));
  EXPECT_TRUE(reopen_with(old_));
}

}  // namespace
