// rotation_timing: next rotation times, the window of a late scheduled rotation, the backoff of
// failures and the checks of the rotation fields of config and static-role writes.
#include <gtest/gtest.h>

#include "broker/core/duration.hpp"
#include "broker/engine/rotation_timing.hpp"

using namespace credbroker;
using namespace credbroker::engine;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// 2026-12-03 10:00:00 UTC
const time_point t0 = time_point{seconds{1'796'292'000}};

TEST(rotation_timing, next_rotation_by_period_schedule_or_never) {
  rotation_state by_period;
  by_period.period = hours(1);
  EXPECT_EQ(next_rotation_time(by_period, t0), t0 + hours(1));
  rotation_state by_schedule;
  by_schedule.schedule = "0 3 * * *";
  EXPECT_EQ(format_rfc3339_nano(next_rotation_time(by_schedule, t0)), "2026-12-04T03:00:00Z");
  EXPECT_EQ(next_rotation_time(rotation_state{}, t0), time_point{});
  rotation_state bad;
  bad.schedule = "not a cron";
  EXPECT_EQ(next_rotation_time(bad, t0), time_point{});
}

TEST(rotation_timing, failures_back_off_and_move_the_due_time) {
  rotation_state r;
  r.next = t0 + hours(1);
  EXPECT_EQ(rotation_due(r), t0 + hours(1));
  const std::vector<seconds> waits = {seconds(10), seconds(20), seconds(40), seconds(80)};
  for (std::size_t i = 0; i < waits.size(); ++i) {
    SCOPED_TRACE(i);
    record_failure(r, error{make_error_code(errc::internal), "refused"}, t0);
    EXPECT_EQ(r.attempts, static_cast<int>(i) + 1);
    EXPECT_EQ(r.last_error, "refused");
    EXPECT_EQ(r.next_attempt, t0 + waits[i]);
    EXPECT_EQ(rotation_due(r), t0 + waits[i]);
  }
  for (int i = 0; i < 20; ++i) record_failure(r, error{make_error_code(errc::internal), "refused"}, t0);
  EXPECT_EQ(r.next_attempt, t0 + hours(1));  // capped
}

TEST(rotation_timing, a_scheduled_rotation_past_its_window_waits) {
  rotation_state r;
  r.schedule = "0 10 * * *";
  r.window = hours(1);
  r.next = t0;
  EXPECT_FALSE(past_window(r, t0 + minutes(59)));
  EXPECT_TRUE(past_window(r, t0 + minutes(61)));
  rotation_state retrying = r;
  retrying.attempts = 1;
  EXPECT_FALSE(past_window(retrying, t0 + hours(5)));  // a retry is not held back by the window
  rotation_state no_window = r;
  no_window.window = seconds(0);
  EXPECT_FALSE(past_window(no_window, t0 + hours(5)));
}

TEST(rotation_timing, root_rotation_fields_as_vault) {
  struct root_case {
    const char* name;
    config_update u;
    std::string error;  // empty: accepted
  };
  auto with = [](auto set) {
    config_update u;
    set(u);
    return u;
  };
  const std::vector<root_case> cases = {
      {"period and schedule", with([](config_update& u) {
         u.root_rotation_period = hours(1);
         u.root_rotation_schedule = "0 * * * *";
       }),
       "mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided"},
      {"window with period", with([](config_update& u) {
         u.root_rotation_period = hours(1);
         u.root_rotation_window = hours(2);
       }),
       "rotation_window does not apply to period"},
      {"short period", with([](config_update& u) { u.root_rotation_period = seconds(4); }),
       "rotation_period must be 5 seconds or more"},
      {"short window", with([](config_update& u) {
         u.root_rotation_schedule = "0 * * * *";
         u.root_rotation_window = seconds(60);
       }),
       "rotation_window must be 3600 seconds or more"},
      {"bad schedule", with([](config_update& u) { u.root_rotation_schedule = "every day"; }),
       "could not parse rotation_schedule: "},
      {"schedule and window", with([](config_update& u) {
         u.root_rotation_schedule = "0 * * * *";
         u.root_rotation_window = hours(1);
       }),
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    rotation_state r;
    auto s = apply_root_rotation_fields(c.u, r);
    if (c.error.empty()) {
      EXPECT_TRUE(s);
      EXPECT_EQ(r.schedule, "0 * * * *");
      EXPECT_EQ(r.window, hours(1));
    } else {
      ASSERT_FALSE(s);
      EXPECT_EQ(s.err().code, make_error_code(errc::invalid_request));
      EXPECT_EQ(s.err().message.rfind(c.error, 0), 0u) << s.err().message;
    }
  }
  // A period replaces a stored schedule and its window.
  rotation_state r;
  r.schedule = "0 * * * *";
  r.window = hours(1);
  config_update u;
  u.root_rotation_period = hours(2);
  ASSERT_TRUE(apply_root_rotation_fields(u, r));
  EXPECT_EQ(r.period, hours(2));
  EXPECT_TRUE(r.schedule.empty());
  EXPECT_EQ(r.window, seconds(0));
}

TEST(rotation_timing, static_rotation_fields_as_vault) {
  rotation_state r;
  static_role_update u;
  auto s = apply_static_rotation_fields(u, true, r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.err().message, "one of rotation_schedule or rotation_period must be provided to create a static account");
  EXPECT_TRUE(apply_static_rotation_fields(u, false, r));  // an update keeps what is stored
  u.rotation_period = hours(1);
  u.rotation_window = hours(1);
  s = apply_static_rotation_fields(u, true, r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.err().message, "rotation_window is invalid with use of rotation_period");
  u.rotation_window.reset();
  ASSERT_TRUE(apply_static_rotation_fields(u, true, r));
  EXPECT_EQ(r.period, hours(1));
}

}  // namespace
