#include <gtest/gtest.h>

#include "leases/ttl.hpp"

using namespace credbroker;
using namespace credbroker::leases;
using std::chrono::seconds;

namespace {

constexpr std::int64_t h = 3600, m = 60;

struct ttl_case {
  const char* name;
  std::int64_t sys_default, sys_max, increment, role_ttl, role_max, issued_ago;
  std::int64_t ttl;     // expected
  const char* warning;  // or nullptr
  const char* error;    // or nullptr
};

TEST(ttl, calculate_ttl_table) {
  const std::vector<ttl_case> cases = {
      {"system default", 768 * h, 768 * h, 0, 0, 0, 0, 768 * h, nullptr, nullptr},
      {"role default", 768 * h, 768 * h, 0, 1 * h, 0, 0, 1 * h, nullptr, nullptr},
      {"increment wins", 768 * h, 768 * h, 30 * m, 1 * h, 0, 0, 30 * m, nullptr, nullptr},
      {"increment is from now, not added", 768 * h, 768 * h, 10 * m, 1 * h, 0, 50 * m, 10 * m, nullptr, nullptr},
      {"capped by role max", 768 * h, 768 * h, 30 * m, 0, 1 * h, 50 * m, 10 * m,
       "TTL of \"30m\" exceeded the effective max_ttl of \"10m\"; TTL value is capped accordingly", nullptr},
      {"role default above role max", 768 * h, 768 * h, 0, 2 * h, 1 * h, 0, 1 * h,
       "TTL of \"2h\" exceeded the effective max_ttl of \"1h\"; TTL value is capped accordingly", nullptr},
      {"role max above mount max is ignored", 1 * h, 2 * h, 0, 0, 5 * h, 0, 1 * h, nullptr, nullptr},
      {"capped by mount max", 1 * h, 2 * h, 3 * h, 0, 0, 0, 2 * h,
       "TTL of \"3h\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly", nullptr},
      {"odd remainder", 768 * h, 768 * h, 2 * h, 0, 1 * h + 1 * m + 30, 0, 1 * h + 1 * m + 30,
       "TTL of \"2h\" exceeded the effective max_ttl of \"1h1m30s\"; TTL value is capped accordingly", nullptr},
      {"exactly at max", 768 * h, 768 * h, 0, 0, 1 * h, 1 * h, 0, nullptr, "past the max TTL, cannot renew"},
      {"past max", 768 * h, 768 * h, 0, 0, 1 * h, 2 * h, 0, nullptr, "past the max TTL, cannot renew"},
  };
  const time_point now{seconds{1'800'000'000}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = calculate_ttl({seconds{c.sys_default}, seconds{c.sys_max}}, seconds{c.increment}, seconds{c.role_ttl},
                           seconds{c.role_max}, now - seconds{c.issued_ago}, now);
    if (c.error != nullptr) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.err().message, c.error);
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(r->ttl.count(), c.ttl);
    if (c.warning == nullptr) {
      EXPECT_TRUE(r->warnings.empty());
    } else {
      ASSERT_EQ(r->warnings.size(), 1u);
      EXPECT_EQ(r->warnings[0], c.warning);
    }
  }
}

TEST(ttl, sub_second_times_are_truncated) {
  const time_point issued{std::chrono::milliseconds{1'800'000'000'900}};
  const time_point now{std::chrono::milliseconds{1'800'003'600'100}};  // 3599.2 s later
  auto r = calculate_ttl({seconds{768 * h}, seconds{768 * h}}, seconds{0}, seconds{0}, seconds{2 * h}, issued, now);
  ASSERT_TRUE(r.ok());
  // Truncated: issued 1800000000, now 1800003600 -> 2h max leaves exactly 3600 s (not 3600.8).
  EXPECT_EQ(r->ttl.count(), 3600);
}

TEST(ttl, human_duration_table) {
  const std::vector<std::pair<std::int64_t, const char*>> cases = {
      {0, "0s"}, {45, "45s"}, {90, "1m30s"}, {600, "10m"}, {3600, "1h"}, {3660, "1h1m"},
      {5400, "1h30m"}, {7205, "2h5s"}, {2764800, "768h"}, {3661, "1h1m1s"},
  };
  for (const auto& [s, text] : cases) EXPECT_EQ(human_duration(seconds{s}), text) << s;
}

}  // namespace
