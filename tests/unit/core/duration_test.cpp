#include <cstdint>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "broker/core/backoff.hpp"
#include "broker/core/duration.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

struct duration_case {
  json input;
  std::int64_t seconds;  // expected, if ok
  const char* error;     // expected error text, or nullptr
};

TEST(duration, vault_duration_second_table) {
  const std::vector<duration_case> cases = {
      {json(nullptr), 0, nullptr},
      {json(""), 0, nullptr},
      {json(0), 0, nullptr},
      {json(3600), 3600, nullptr},
      {json("3600"), 3600, nullptr},
      {json("90s"), 90, nullptr},
      {json("1h"), 3600, nullptr},
      {json("1h30m"), 5400, nullptr},
      {json("1.5h"), 5400, nullptr},
      {json("2500ms"), 2, nullptr},
      {json("7d"), 604800, nullptr},
      {json("0"), 0, nullptr},
      {json(1.9), 1, nullptr},
      {json("+5s"), 5, nullptr},
      {json(-1), 0, "cannot provide negative value"},
      {json("-5s"), 0, "cannot provide negative value"},
      {json("-10"), 0, "cannot provide negative value"},
      {json("abc"), 0, "time: invalid duration \"abc\""},
      {json("1.5"), 0, "time: missing unit in duration \"1.5\""},
      {json("10x"), 0, "time: unknown unit \"x\" in duration \"10x\""},
      {json("1h x"), 0, "time: unknown unit \"h x\" in duration \"1h x\""},
      {json("xd"), 0, "strconv.ParseInt: parsing \"x\": invalid syntax"},
      {json("."), 0, "time: invalid duration \".\""},
      {json("99999999999999999999h"), 0, "time: invalid duration \"99999999999999999999h\""},
      // The bound: 100 years (876000h) is the largest duration anything accepts.
      {json(3153600000), 3153600000, nullptr},
      {json("3153600000"), 3153600000, nullptr},
      {json("876000h"), 3153600000, nullptr},
      {json("36500d"), 3153600000, nullptr},
      {json(3153600001), 0, "duration \"3153600001\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("876000h1s"), 0, "duration \"876000h1s\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("36501d"), 0, "duration \"36501d\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("9223372036"), 0, "duration \"9223372036\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json(9223372036), 0, "duration \"9223372036\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json(INT64_MAX), 0, "duration \"9223372036854775807\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json(UINT64_MAX), 0, "duration \"18446744073709551615\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("9223372036854775807"), 0, "duration \"9223372036854775807\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("99999999999999999999999"), 0, "duration \"99999999999999999999999\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("-99999999999999999999999"), 0, "cannot provide negative value"},
      {json("2562047h"), 0, "duration \"2562047h\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json("99999999999999999999d"), 0, "duration \"99999999999999999999d\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json(1e300), 0, "duration \"1e+300\" is out of range: the largest accepted is 876000h0m0s (100 years)"},
      {json(-1e300), 0, "cannot provide negative value"},
      {json(INT64_MIN), 0, "cannot provide negative value"},
      {json(true), 0, "expected a number of seconds or a duration string such as \"1h\", got boolean"},
      {json::array(), 0, "expected a number of seconds or a duration string such as \"1h\", got array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input.dump());
    auto r = parse_duration_value(c.input);
    if (c.error == nullptr) {
      ASSERT_TRUE(r.ok()) << r.err().message;
      EXPECT_EQ(r->count(), c.seconds);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.err().message, c.error);
    }
  }
}

TEST(duration, go_parse_duration_units) {
  EXPECT_EQ(parse_go_duration("1ns")->count(), 1);
  EXPECT_EQ(parse_go_duration("1us")->count(), 1000);
  EXPECT_EQ(parse_go_duration("1\xc2\xb5s")->count(), 1000);
  EXPECT_EQ(parse_go_duration("1m0.5s")->count(), 60'500'000'000LL);
  EXPECT_EQ(parse_go_duration("-1s")->count(), -1'000'000'000LL);
  EXPECT_FALSE(parse_go_duration("").ok());
  EXPECT_FALSE(parse_go_duration("s").ok());
}

TEST(duration, rfc3339_of_any_unix_second) {
  EXPECT_EQ(format_rfc3339_seconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_seconds(1'800'000'000), "2027-01-15T08:00:00Z");
  // Past what a nanosecond time_point holds (year 2262): still a date, never an exception.
  EXPECT_EQ(format_rfc3339_seconds(1'800'000'000LL + 9'223'372'036LL).substr(0, 5), "2319-");
  EXPECT_FALSE(format_rfc3339_seconds(INT64_MAX).empty());
  EXPECT_EQ(format_rfc3339_nano(std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'120))),
            "2027-01-15T08:00:00.12Z");
}

TEST(duration, go_string_form) {
  EXPECT_EQ(format_go_duration(std::chrono::seconds{0}), "0s");
  EXPECT_EQ(format_go_duration(std::chrono::seconds{45}), "45s");
  EXPECT_EQ(format_go_duration(std::chrono::seconds{90}), "1m30s");
  EXPECT_EQ(format_go_duration(std::chrono::seconds{3600}), "1h0m0s");
  EXPECT_EQ(format_go_duration(std::chrono::seconds{2764800}), "768h0m0s");
  EXPECT_EQ(format_go_duration(std::chrono::seconds{-61}), "-1m1s");
}

}  // namespace

TEST(doubling_backoff, doubles_from_the_base_up_to_the_cap) {
  using std::chrono::seconds;
  const std::vector<std::pair<int, long>> table = {{0, 10}, {1, 10}, {2, 20}, {3, 40}, {4, 60}, {5, 60}, {100, 60}};
  for (const auto& [attempts, want] : table) {
    EXPECT_EQ(credbroker::doubling_backoff(seconds{10}, seconds{60}, attempts).count(), want) << attempts;
  }
  EXPECT_EQ(credbroker::doubling_backoff(seconds{90}, seconds{60}, 1).count(), 60);  // a base above the cap
}
