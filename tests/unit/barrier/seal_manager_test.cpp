#include <gtest/gtest.h>

#include "broker/barrier/seal_manager.hpp"
#include "broker/core/encoding.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::barrier;

namespace {

class seal_test : public ::testing::Test {
 protected:
  storage::inmem_backend backend_;
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
  storage::inmem_backend other_backend;
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
