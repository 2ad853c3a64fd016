#include <gtest/gtest.h>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/barrier/barrier.hpp"
#include "broker/core/random.hpp"
#include "support/test_store.hpp"

using namespace credbroker;

namespace {

secret random_key() {
  const auto raw = random_bytes(32);
  return secret(std::string(raw.begin(), raw.end()));
}

class barrier_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(b_.initialize(root_).ok()); }
  test::test_store backend_;
  barrier::barrier b_{backend_};
  secret root_ = random_key();
};

TEST_F(barrier_test, values_are_encrypted_at_rest) {
  ASSERT_TRUE(b_.put("creds/x", "plaintext-password-123").ok());
  for (const auto& [k, v] : backend_.snapshot()) {
    EXPECT_EQ(v.find("plaintext-password-123"), std::string::npos) << k;
  }
  EXPECT_EQ(backend_.snapshot().at("creds/x").size(), std::string("plaintext-password-123").size() + barrier::overhead);
  EXPECT_EQ(**b_.get("creds/x"), "plaintext-password-123");
}

TEST_F(barrier_test, same_value_twice_gives_different_ciphertexts) {
  ASSERT_TRUE(b_.put("a", "same").ok());
  const auto first = backend_.snapshot().at("a");
  ASSERT_TRUE(b_.put("a", "same").ok());
  EXPECT_NE(backend_.snapshot().at("a"), first);  // fresh nonce per write
}

struct tamper_case {
  const char* name;
  std::function<void(test::test_store&)> damage;
  const char* expect;  // substring of the error
};

TEST_F(barrier_test, damaged_values_are_refused_naming_the_key) {
  const std::vector<tamper_case> cases = {
      {"flipped ciphertext byte", [](test::test_store& be) {
         auto v = be.snapshot().at("t/v");
         v[20] = static_cast<char>(v[20] ^ 0x01);
         be.poke("t/v", v);
       }, "failed authentication"},
      {"flipped tag byte", [](test::test_store& be) {
         auto v = be.snapshot().at("t/v");
         v.back() = static_cast<char>(v.back() ^ 0x80);
         be.poke("t/v", v);
       }, "failed authentication"},
      {"truncated", [](test::test_store& be) { be.poke("t/v", be.snapshot().at("t/v").substr(0, 10)); },
       "is truncated"},
      {"truncated by one", [](test::test_store& be) {
         auto v = be.snapshot().at("t/v");
         v.pop_back();
         be.poke("t/v", v);
       }, "failed authentication"},
      {"moved from another key", [](test::test_store& be) { be.poke("t/v", be.snapshot().at("t/other")); },
       "failed authentication"},
      {"unknown term", [](test::test_store& be) {
         auto v = be.snapshot().at("t/v");
         v[4] = 9;
         be.poke("t/v", v);
       }, "uses key term 9"},
      {"unknown version", [](test::test_store& be) {
         auto v = be.snapshot().at("t/v");
         v[0] = 7;
         be.poke("t/v", v);
       }, "unknown format version"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(b_.put("t/v", "the value").ok());
    ASSERT_TRUE(b_.put("t/other", "another value").ok());
    c.damage(backend_);
    auto r = b_.get("t/v");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, make_error_code(errc::integrity_failure));
    EXPECT_NE(r.err().message.find("\"t/v\""), std::string::npos) << r.err().message;
    EXPECT_NE(r.err().message.find(c.expect), std::string::npos) << r.err().message;
  }
}

TEST_F(barrier_test, scan_skips_and_reports_damaged_values) {
  for (const char* k : {"z/1", "z/2", "z/3"}) ASSERT_TRUE(b_.put(k, "ok").ok());
  auto v = backend_.snapshot().at("z/2");
  v[20] = static_cast<char>(v[20] ^ 1);
  backend_.poke("z/2", v);
  std::vector<std::string> seen;
  auto s = b_.scan("z/", [&](const std::string& k, std::string_view value) {
    EXPECT_EQ(value, "ok");
    seen.push_back(k);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"z/1", "z/3"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err().message.find("\"z/2\""), std::string::npos) << s.err().message;
}

TEST_F(barrier_test, rotation_keeps_old_values_readable) {
  ASSERT_TRUE(b_.put("old", "v1").ok());
  auto k = b_.rotate();
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->term, 2u);
  ASSERT_TRUE(b_.put("new", "v2").ok());
  EXPECT_EQ(*barrier::term_of(backend_.snapshot().at("old")), 1u);
  EXPECT_EQ(*barrier::term_of(backend_.snapshot().at("new")), 2u);
  // After a seal/unseal cycle both terms still read.
  b_.seal();
  ASSERT_TRUE(b_.unseal(root_).ok());
  EXPECT_EQ(b_.key_status()->term, 2u);
  EXPECT_EQ(**b_.get("old"), "v1");
  EXPECT_EQ(**b_.get("new"), "v2");
}

TEST_F(barrier_test, sealed_refuses_and_wrong_key_is_rejected) {
  ASSERT_TRUE(b_.put("k", "v").ok());
  b_.seal();
  EXPECT_TRUE(b_.sealed());
  EXPECT_EQ(b_.get("k").err().code, make_error_code(errc::sealed));
  EXPECT_EQ(b_.put("k", "v").err().code, make_error_code(errc::sealed));
  EXPECT_EQ(b_.list("").err().code, make_error_code(errc::sealed));
  auto wrong = b_.unseal(random_key());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.err().code, make_error_code(errc::permission_denied));
  EXPECT_TRUE(b_.sealed());
  ASSERT_TRUE(b_.unseal(root_).ok());
  EXPECT_EQ(**b_.get("k"), "v");
}

TEST_F(barrier_test, keyring_is_reserved_and_initialise_is_once) {
  EXPECT_FALSE(b_.put("core/keyring", "x").ok());
  EXPECT_FALSE(b_.initialize(random_key()).ok());
  EXPECT_TRUE(*b_.initialized());
}

TEST(aes_gcm, round_trip_and_aad_binding) {
  const secret key = random_key();
  auto sealed = barrier::encrypt(key, 3, "hello", "path/a");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*barrier::term_of(*sealed), 3u);
  EXPECT_EQ(*barrier::decrypt(key, *sealed, "path/a"), "hello");
  EXPECT_FALSE(barrier::decrypt(key, *sealed, "path/b").ok());
  EXPECT_FALSE(barrier::decrypt(random_key(), *sealed, "path/a").ok());
}

}  // namespace
