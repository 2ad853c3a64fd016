#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "broker/core/random.hpp"

using namespace credbroker;

TEST(random, alnum_shape_and_spread) {
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    const auto s = random_alnum(24);
    ASSERT_EQ(s.size(), 24u);
    for (char c : s) {
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << s;
      seen.insert(c);
    }
  }
  EXPECT_EQ(seen.size(), 62u);  // 4800 draws cover all 62 characters with overwhelming probability
}

TEST(random, uuid_v4_shape_and_uniqueness) {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const auto id = random_uuid();
    ASSERT_TRUE(std::regex_match(id, v4)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(random, token_shape) {
  const auto t = random_token();
  EXPECT_EQ(t.reveal().substr(0, 4), "hvs.");
  EXPECT_EQ(t.size(), 28u);
}
