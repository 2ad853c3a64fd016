#include <gtest/gtest.h>

#include "broker/plugin/sanitize.hpp"

using namespace credbroker;

TEST(sanitize, removes_raw_and_url_encoded_secrets) {
  const secret pw("p@ss word/1");
  const std::string text = "failed: postgresql://u:p%40ss%20word%2F1@h/db; password p@ss word/1 rejected";
  const std::string out = plugin::sanitize(text, {&pw});
  EXPECT_EQ(out.find("p@ss"), std::string::npos) << out;
  EXPECT_EQ(out.find("p%40ss"), std::string::npos) << out;
  EXPECT_EQ(out, "failed: postgresql://u:[password]@h/db; password [password] rejected");
}

TEST(sanitize, empty_and_null_secrets_are_ignored) {
  const secret empty;
  EXPECT_EQ(plugin::sanitize("abc", {&empty, nullptr}), "abc");
}

TEST(sanitize, percent_encode_keeps_unreserved) {
  EXPECT_EQ(plugin::percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(plugin::percent_encode("a b:@/?#"), "a%20b%3A%40%2F%3F%23");
}
