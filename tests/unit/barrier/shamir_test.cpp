#include <gtest/gtest.h>

#include "broker/barrier/shamir.hpp"
#include "broker/core/random.hpp"

#include <functional>
#include <set>

using namespace credbroker;
using namespace credbroker::barrier;

namespace {

std::string random_secret(std::size_t n) {
  const auto raw = random_bytes(n);
  return std::string(raw.begin(), raw.end());
}

TEST(shamir, field_inverse_for_every_element) {
  for (int a = 1; a < 256; ++a) {
    EXPECT_EQ(shamir::mul(static_cast<unsigned char>(a), shamir::inverse(static_cast<unsigned char>(a))), 1) << a;
  }
  EXPECT_EQ(shamir::mul(0x57, 0x83), 0xc1);  // FIPS-197 worked example
}

TEST(shamir, every_threshold_subset_reconstructs) {
  const std::string secret = random_secret(32);
  auto shares = shamir::split(secret, 5, 3);
  ASSERT_TRUE(shares.ok());
  ASSERT_EQ(shares->size(), 5u);
  for (const auto& s : *shares) EXPECT_EQ(s.size(), 33u);
  int subsets = 0;
  for (int mask = 0; mask < 32; ++mask) {
    if (__builtin_popcount(static_cast<unsigned>(mask)) < 3) continue;
    std::vector<std::string> pick;
    for (int i = 0; i < 5; ++i) {
      if (mask & (1 << i)) pick.push_back((*shares)[static_cast<std::size_t>(i)]);
    }
    auto back = shamir::combine(pick);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, secret) << "mask " << mask;
    ++subsets;
  }
  EXPECT_EQ(subsets, 16);  // C(5,3) + C(5,4) + C(5,5)
}

TEST(shamir, fewer_than_threshold_shares_reveal_nothing_usable) {
  // With t-1 shares, every candidate secret is equally consistent: combining gives an unrelated value,
  // and over many splits each output byte takes many different values.
  std::set<unsigned char> first_bytes;
  for (int trial = 0; trial < 200; ++trial) {
    const std::string secret(16, 'A');
    auto shares = shamir::split(secret, 5, 3);
    ASSERT_TRUE(shares.ok());
    auto guess = shamir::combine({(*shares)[0], (*shares)[1]});
    ASSERT_TRUE(guess.ok());
    EXPECT_NE(*guess, secret);
    first_bytes.insert(static_cast<unsigned char>((*guess)[0]));
  }
  EXPECT_GT(first_bytes.size(), 100u);  // ~uniform over 256 values, independent of the secret 'A'
}

struct bad_combine_case {
  const char* name;
  std::function<std::vector<std::string>(const std::vector<std::string>&)> pick;
  const char* error;
};

TEST(shamir, bad_input_is_rejected_clearly) {
  auto shares = shamir::split(random_secret(32), 3, 2);
  ASSERT_TRUE(shares.ok());
  const std::vector<bad_combine_case> cases = {
      {"one share", [](const auto& s) { return std::vector<std::string>{s[0]}; },
       "less than two shares cannot be used to reconstruct the secret"},
      {"duplicate", [](const auto& s) { return std::vector<std::string>{s[0], s[0]}; }, "duplicate share detected"},
      {"different lengths", [](const auto& s) { return std::vector<std::string>{s[0], s[1].substr(1)}; },
       "all shares must be the same length"},
      {"too short", [](const auto&) { return std::vector<std::string>{"a", "b"}; },
       "shares must be at least two bytes long"},
      {"zero x", [](const auto& s) {
         auto bad = s[1];
         bad.back() = '\0';
         return std::vector<std::string>{s[0], bad};
       }, "share has an invalid x coordinate"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = shamir::combine(c.pick(*shares));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().message, c.error);
  }
  EXPECT_EQ(shamir::split("x", 2, 3).err().message, "parts cannot be less than threshold");
  EXPECT_EQ(shamir::split("x", 256, 3).err().message, "parts cannot exceed 255");
  EXPECT_EQ(shamir::split("x", 3, 1).err().message, "threshold must be at least 2");
  EXPECT_EQ(shamir::split("", 3, 2).err().message, "cannot split an empty secret");
}

TEST(shamir, largest_configuration) {
  const std::string secret = random_secret(32);
  auto shares = shamir::split(secret, 255, 255);
  ASSERT_TRUE(shares.ok());
  EXPECT_EQ(*shamir::combine(*shares), secret);
}

}  // namespace
