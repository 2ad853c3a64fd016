// root_generation: the generate-root state machine over a real seal manager and barrier.
#include <gtest/gtest.h>

#include "broker/barrier/root_generation.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::barrier;

namespace {

class root_generation_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(seal_.load().ok());
    auto keys = seal_.init(5, 3);
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
  }

  // A mint that counts its calls and hands out fresh root-shaped tokens.
  std::function<result<secret>()> mint() {
    return [this]() -> result<secret> {
      ++minted_;
      last_token_ = random_token();
      return last_token_;
    };
  }

  storage::inmem_backend backend_;
  barrier::barrier b_{backend_};
  seal_manager seal_{backend_, b_, "inmem", "test"};
  root_generation gen_{seal_};
  std::vector<secret> keys_;
  int minted_ = 0;
  secret last_token_;
};

TEST_F(root_generation_test, a_quorum_of_shares_mints_a_token_encoded_with_the_otp) {
  auto idle = gen_.status();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->started);
  EXPECT_EQ(idle->required, 3);
  EXPECT_EQ(idle->nonce, "");

  auto otp = gen_.start("");
  ASSERT_TRUE(otp.ok()) << otp.err().message;
  ASSERT_EQ(otp->size(), root_generation::otp_length);
  for (char c : *otp) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << *otp;
  auto st = gen_.status();
  ASSERT_TRUE(st->started);
  const std::string nonce = st->nonce;
  EXPECT_EQ(nonce.size(), 36u);
  EXPECT_EQ(st->progress, 0);

  for (int i = 0; i < 2; ++i) {
    auto u = gen_.update(keys_[static_cast<std::size_t>(i) * 2], nonce, mint());
    ASSERT_TRUE(u.ok()) << u.err().message;
    EXPECT_EQ(u->progress, i + 1);
    EXPECT_EQ(u->required, 3);
    EXPECT_FALSE(u->complete);
    EXPECT_EQ(u->encoded_token, "");
    EXPECT_EQ(gen_.status()->progress, i + 1);
  }
  EXPECT_EQ(minted_, 0);
  auto done = gen_.update(keys_[1], nonce, mint());
  ASSERT_TRUE(done.ok()) << done.err().message;
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->progress, 3);
  EXPECT_EQ(minted_, 1);
  EXPECT_EQ(done->encoded_token.size(), 38u);  // 28 bytes, base64 without padding
  EXPECT_EQ(done->encoded_token.find('='), std::string::npos);
  auto decoded = decode_root_token(done->encoded_token, secret(*otp));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, last_token_);
  // The attempt is over.
  EXPECT_FALSE(gen_.status()->started);
  EXPECT_EQ(gen_.update(keys_[0], nonce, mint()).err().message, "no root generation in progress");
}

TEST_F(root_generation_test, a_chosen_otp_is_used_and_not_shown_again) {
  const std::string otp = random_alnum(root_generation::otp_length);
  auto shown = gen_.start(otp);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(*shown, "");
  const std::string nonce = gen_.status()->nonce;
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(gen_.update(keys_[i], nonce, mint()).ok());
  // The last update carried the token: decode with the OTP the caller chose.
  EXPECT_EQ(minted_, 1);
}

TEST_F(root_generation_test, refusals) {
  const std::string otp = random_alnum(root_generation::otp_length);
  ASSERT_TRUE(gen_.start(otp).ok());
  const std::string nonce = gen_.status()->nonce;
  ASSERT_TRUE(gen_.update(keys_[0], nonce, mint()).ok());
  struct row {
    const char* what;
    std::function<status()> call;
    std::string message;
  };
  const std::vector<row> rows = {
      {"a second start", [&] { return status(gen_.start("").err()); }, "root generation already in progress"},
      {"wrong nonce", [&] { return status(gen_.update(keys_[1], "other", mint()).err()); },
       "incorrect nonce supplied; nonce for this root generation operation is \"" + nonce + "\""},
      {"the same share twice", [&] { return status(gen_.update(keys_[0], nonce, mint()).err()); },
       "given key has already been provided during this generation operation"},
      {"a short key", [&] { return status(gen_.update(secret(std::string(15, 'k')), nonce, mint()).err()); },
       "key is shorter than minimum 16 bytes"},
      {"a long key", [&] { return status(gen_.update(secret(std::string(34, 'k')), nonce, mint()).err()); },
       "key is longer than maximum 33 bytes"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.what);
    auto s = r.call();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.err().message, r.message);
    EXPECT_EQ(s.err().code, make_error_code(errc::invalid_request));
  }
  // None of them counted or ended the attempt.
  EXPECT_EQ(gen_.status()->progress, 1);
  EXPECT_EQ(gen_.status()->nonce, nonce);
  EXPECT_EQ(minted_, 0);

  ASSERT_TRUE(gen_.cancel().ok());
  for (const auto* bad : {"short", "0123456789012345678901234567890"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(gen_.start(bad).err().message, "OTP string is wrong length");
  }
}

TEST_F(root_generation_test, shares_that_do_not_reconstruct_the_root_key_keep_the_attempt) {
  storage::inmem_backend other_backend;
  barrier::barrier other_barrier(other_backend);
  seal_manager other(other_backend, other_barrier, "inmem", "other");
  auto foreign = other.init(5, 3);
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(gen_.start("").ok());
  const std::string nonce = gen_.status()->nonce;
  ASSERT_TRUE(gen_.update(keys_[0], nonce, mint()).ok());
  ASSERT_TRUE(gen_.update(keys_[1], nonce, mint()).ok());
  auto bad = gen_.update((*foreign)[2], nonce, mint());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().message,
            "root generation aborted: root key verification failed: the key shares do not reconstruct the root key");
  EXPECT_EQ(minted_, 0);
  // Progress cleared, same attempt: the holders start over with the same nonce.
  auto st = gen_.status();
  EXPECT_TRUE(st->started);
  EXPECT_EQ(st->nonce, nonce);
  EXPECT_EQ(st->progress, 0);
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(gen_.update(keys_[i + 2], nonce, mint()).ok());
  EXPECT_EQ(minted_, 1);
}

TEST_F(root_generation_test, a_failing_mint_keeps_the_attempt) {
  ASSERT_TRUE(gen_.start("").ok());
  const std::string nonce = gen_.status()->nonce;
  const auto failing = []() -> result<secret> { return make_error(errc::storage_failure, "disk full"); };
  ASSERT_TRUE(gen_.update(keys_[0], nonce, failing).ok());
  ASSERT_TRUE(gen_.update(keys_[1], nonce, failing).ok());
  auto r = gen_.update(keys_[2], nonce, failing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message, "disk full");
  EXPECT_TRUE(gen_.status()->started);
  EXPECT_EQ(gen_.status()->progress, 0);
}

TEST_F(root_generation_test, cancel_seal_and_unseal_end_the_attempt) {
  EXPECT_TRUE(gen_.cancel().ok());  // nothing to cancel: fine
  ASSERT_TRUE(gen_.start("").ok());
  ASSERT_TRUE(gen_.cancel().ok());
  EXPECT_FALSE(gen_.status()->started);

  ASSERT_TRUE(gen_.start("").ok());
  ASSERT_TRUE(gen_.update(keys_[0], gen_.status()->nonce, mint()).ok());
  ASSERT_TRUE(seal_.seal().ok());
  EXPECT_EQ(gen_.status().err().code, make_error_code(errc::sealed));
  EXPECT_EQ(gen_.start("").err().code, make_error_code(errc::sealed));
  EXPECT_EQ(gen_.update(keys_[1], "n", mint()).err().code, make_error_code(errc::sealed));
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(seal_.unseal(keys_[i]).ok());
  EXPECT_FALSE(gen_.status()->started);
}

TEST_F(root_generation_test, an_uninitialised_store_has_no_generation) {
  storage::inmem_backend empty;
  barrier::barrier eb(empty);
  seal_manager fresh(empty, eb, "inmem", "x");
  ASSERT_TRUE(fresh.load().ok());
  root_generation gen(fresh);
  EXPECT_EQ(gen.status().err().code, make_error_code(errc::not_initialized));
  EXPECT_EQ(gen.start("").err().code, make_error_code(errc::not_initialized));
}

TEST_F(root_generation_test, a_single_unseal_key_is_the_whole_quorum) {
  storage::inmem_backend one_backend;
  barrier::barrier ob(one_backend);
  seal_manager one(one_backend, ob, "inmem", "one");
  auto key = one.init(1, 1);
  ASSERT_TRUE(key.ok());
  root_generation gen(one);
  auto otp = gen.start("");
  ASSERT_TRUE(otp.ok());
  auto done = gen.update((*key)[0], gen.status()->nonce, mint());
  ASSERT_TRUE(done.ok()) << done.err().message;
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->required, 1);
  EXPECT_EQ(*decode_root_token(done->encoded_token, secret(*otp)), last_token_);
}

TEST(root_token_encoding, xor_then_unpadded_base64_as_vault) {
  // 28 bytes each: token XOR otp, then base64 (RawStdEncoding).
  const secret token("hvs.ABCDEFGHIJKLMNOPQRSTUVWX");
  const secret otp("0123456789abcdefghijABCDEFGH");
  auto enc = encode_root_token(token, otp);
  ASSERT_TRUE(enc.ok());
  // 'h'^'0' = 0x58, 'v'^'1' = 0x47, 's'^'2' = 0x41, '.'^'3' = 0x1d -> "WEdBHQ..."
  EXPECT_EQ(enc->substr(0, 4), "WEdB");
  EXPECT_EQ(enc->size(), 38u);
  EXPECT_EQ(*decode_root_token(*enc, otp), token);
  EXPECT_FALSE(encode_root_token(token, secret("short")).ok());
  EXPECT_FALSE(decode_root_token("%%%", otp).ok());
  EXPECT_FALSE(decode_root_token(*enc, secret("short")).ok());
}

}  // namespace
