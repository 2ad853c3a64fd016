#include "broker/core/cron.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <random>

namespace credbroker {
namespace {

using std::chrono::system_clock;

system_clock::time_point utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return system_clock::from_time_t(timegm(&tm));
}

std::string show(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %a", &tm);
  return buf;
}

struct next_case {
  const char* expr;
  system_clock::time_point after;
  const char* expected;  // "%Y-%m-%d %H:%M %a"
};

TEST(cron, next_table) {
  const auto fri = utc(2026, 12, 4, 20, 30);  // a Friday
  const std::vector<next_case> cases = {
      {"* * * * *", fri, "2026-12-04 20:31 Fri"},
      {"0 */6 * * MON-FRI", fri, "2026-12-07 00:00 Mon"},
      {"30 20 * * *", fri, "2026-12-05 20:30 Sat"},  // strictly after
      {"31 20 * * *", fri, "2026-12-04 20:31 Fri"},
      {"0 0 1 1 *", fri, "2027-01-01 00:00 Fri"},
      {"0 0 29 2 *", fri, "2028-02-29 00:00 Tue"},  // the next leap day
      {"15,45 9-17/4 * * *", fri, "2026-12-05 09:15 Sat"},
      {"0 12 * JAN,jul sun", fri, "2027-01-03 12:00 Sun"},
      {"0 0 * * 7", fri, "2026-12-06 00:00 Sun"},  // 7 is Sunday
      {"0 0 * * 5-7", fri, "2026-12-05 00:00 Sat"},
      {"0 0 13 * FRI", fri, "2026-12-11 00:00 Fri"},  // both days restricted: either matches
      {"0 0 13 * *", fri, "2026-12-13 00:00 Sun"},
      {"0 0 ? * MON", fri, "2026-12-07 00:00 Mon"},
      {"5/20 * * * *", fri, "2026-12-04 20:45 Fri"},
      {"*/15 * * * *", utc(2026, 12, 31, 23, 59), "2027-01-01 00:00 Fri"},
      {"0 3 31 * *", utc(2026, 11, 30, 0, 0), "2026-12-31 03:00 Thu"},
  };
  for (const auto& c : cases) {
    auto s = cron_schedule::parse(c.expr);
    ASSERT_TRUE(s) << c.expr << ": " << s.err().message;
    auto n = s->next(c.after);
    ASSERT_TRUE(n.has_value()) << c.expr;
    EXPECT_EQ(show(*n), c.expected) << c.expr;
  }
  // Never: February 31st.
  EXPECT_FALSE(cron_schedule::parse("0 0 31 2 *")->next(fri).has_value());
}

struct bad_case {
  const char* expr;
  const char* error;
};

TEST(cron, errors_table) {
  const std::vector<bad_case> cases = {
      {"", "empty cron expression"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
      {"@daily", "descriptors such as \"@daily\" are not supported; use 5 fields (minute hour day-of-month month day-of-week)"},
      {"60 * * * *", "field 1 (minute): value 60 out of range 0-59"},
      {"* 24 * * *", "field 2 (hour): value 24 out of range 0-23"},
      {"* * 0 * *", "field 3 (day of month): value 0 out of range 1-31"},
      {"* * * 13 *", "field 4 (month): value 13 out of range 1-12"},
      {"* * * * 8", "field 5 (day of week): value 8 out of range 0-6"},
      {"* * * JANUARY *", "field 4 (month): unknown name \"JANUARY\""},
      {"* * * * FUN", "field 5 (day of week): unknown name \"FUN\""},
      {"MON * * * *", "field 1 (minute): \"MON\" is not a number"},
      {"*/0 * * * *", "field 1 (minute): step must be at least 1"},
      {"*/x * * * *", "field 1 (minute): bad step \"x\""},
      {"1,,2 * * * *", "field 1 (minute): empty list item"},
      {"1, * * * *", "field 1 (minute): empty list item"},
      {"5-1 * * * *", "field 1 (minute): range 5-1 runs backwards"},
      {"1- * * * *", "field 1 (minute): missing value"},
      {"1a * * * *", "field 1 (minute): \"1a\" is not a number"},
  };
  for (const auto& c : cases) {
    auto s = cron_schedule::parse(c.expr);
    ASSERT_FALSE(s) << c.expr;
    EXPECT_EQ(s.err().message, c.error) << c.expr;
  }
}

// next() against a brute-force oracle: each field option carries its own predicate, written here
// independently of the parser, and the oracle walks minute by minute.
TEST(cron, next_matches_a_minute_by_minute_oracle) {
  struct option {
    const char* text;
    std::function<bool(int)> in;
    bool any;  // unrestricted for the day rule
  };
  const std::vector<option> mins = {{"*", [](int) { return true; }, true},
                                    {"0", [](int v) { return v == 0; }, false},
                                    {"*/7", [](int v) { return v % 7 == 0; }, true},
                                    {"5-10", [](int v) { return v >= 5 && v <= 10; }, false},
                                    {"1,30", [](int v) { return v == 1 || v == 30; }, false},
                                    {"3/20", [](int v) { return v >= 3 && (v - 3) % 20 == 0; }, false}};
  const std::vector<option> hours = {{"*", [](int) { return true; }, true},
                                     {"*/5", [](int v) { return v % 5 == 0; }, true},
                                     {"9-17", [](int v) { return v >= 9 && v <= 17; }, false},
                                     {"2,14", [](int v) { return v == 2 || v == 14; }, false}};
  const std::vector<option> doms = {{"*", [](int) { return true; }, true},
                                    {"1", [](int v) { return v == 1; }, false},
                                    {"28-31", [](int v) { return v >= 28; }, false},
                                    {"*/10", [](int v) { return (v - 1) % 10 == 0; }, true},
                                    {"?", [](int) { return true; }, true}};
  const std::vector<option> months = {{"*", [](int) { return true; }, true},
                                      {"JAN-MAR", [](int v) { return v <= 3; }, false},
                                      {"*/4", [](int v) { return (v - 1) % 4 == 0; }, true}};
  const std::vector<option> dows = {{"*", [](int) { return true; }, true},
                                    {"0", [](int v) { return v == 0; }, false},
                                    {"MON-FRI", [](int v) { return v >= 1 && v <= 5; }, false},
                                    {"sun,wed", [](int v) { return v == 0 || v == 3; }, false},
                                    {"?", [](int) { return true; }, true}};
  std::mt19937 rng(20261201);
  auto pick = [&](const std::vector<option>& v) -> const option& { return v[rng() % v.size()]; };
  for (int i = 0; i < 400; ++i) {
    const option &mi = pick(mins), &h = pick(hours), &dm = pick(doms), &mo = pick(months), &dw = pick(dows);
    const std::string expr = std::string(mi.text) + " " + h.text + " " + dm.text + " " + mo.text + " " + dw.text;
    auto s = cron_schedule::parse(expr);
    ASSERT_TRUE(s) << expr;
    const auto start = utc(2026, 1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28),
                           static_cast<int>(rng() % 24), static_cast<int>(rng() % 60)) +
                       std::chrono::seconds(rng() % 60);
    auto oracle_matches_day = [&](system_clock::time_point t) {
      std::tm tm{};
      const std::time_t tt = system_clock::to_time_t(t);
      gmtime_r(&tt, &tm);
      const bool dom_ok = dm.in(tm.tm_mday), dow_ok = dw.in(tm.tm_wday);
      const bool day = (dm.any && dw.any) ? true : dm.any ? dow_ok : dw.any ? dom_ok : (dom_ok || dow_ok);
      return mo.in(tm.tm_mon + 1) && day;
    };
    auto oracle_matches = [&](system_clock::time_point t) {
      std::tm tm{};
      const std::time_t tt = system_clock::to_time_t(t);
      gmtime_r(&tt, &tm);
      const bool dom_ok = dm.in(tm.tm_mday), dow_ok = dw.in(tm.tm_wday);
      const bool day = (dm.any && dw.any) ? true : dm.any ? dow_ok : dw.any ? dom_ok : (dom_ok || dow_ok);
      return mi.in(tm.tm_min) && h.in(tm.tm_hour) && mo.in(tm.tm_mon + 1) && day;
    };
    std::optional<system_clock::time_point> expected;
    const auto first = std::chrono::floor<std::chrono::minutes>(start) + std::chrono::minutes(1);
    // Day by day (the whole day is skipped when no minute of it can match), then minute by minute.
    for (auto day = std::chrono::floor<std::chrono::days>(first); !expected && day < first + std::chrono::days(400);
         day += std::chrono::days(1)) {
      if (!oracle_matches_day(day)) continue;
      for (auto t = std::max<system_clock::time_point>(day, first); t < day + std::chrono::days(1); t += std::chrono::minutes(1)) {
        if (oracle_matches(t)) {
          expected = t;
          break;
        }
      }
    }
    ASSERT_TRUE(expected.has_value()) << expr << ": every option set matches within 400 days";
    const auto got = s->next(start);
    ASSERT_TRUE(got.has_value()) << expr;
    EXPECT_EQ(show(*got), show(*expected)) << expr << " after " << show(start);
  }
}

}  // namespace
}  // namespace credbroker
