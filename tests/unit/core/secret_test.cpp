#include <gtest/gtest.h>
#include <spdlog/fmt/ostr.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "broker/core/secret.hpp"

using credbroker::secret;

TEST(secret, never_prints_its_value) {
  const secret s("hunter2-very-secret");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
  EXPECT_EQ(fmt::format("{}", s), "[redacted]");
  EXPECT_EQ(fmt::format("pw={:>12}", s), "pw=  [redacted]");
  EXPECT_EQ(s.reveal(), "hunter2-very-secret");
}

TEST(secret, constant_time_equality_and_moves) {
  secret a("abc"), b("abc"), c("abd");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a.equals("ab"));
  secret moved(std::move(a));
  EXPECT_EQ(moved.reveal(), "abc");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): wiped on purpose
  secret assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.reveal(), "abc");
  EXPECT_TRUE(moved.empty());  // NOLINT
}
