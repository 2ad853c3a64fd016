#include "broker/engine/rotation_timing.hpp"

#include "broker/core/backoff.hpp"
#include "broker/core/cron.hpp"

namespace credbroker::engine {
namespace {

using std::chrono::seconds;

constexpr seconds retry_base{10};
constexpr seconds retry_cap{3600};

}  // namespace

time_point next_rotation_time(const rotation_state& r, time_point from) {
  if (r.period.count() > 0) return from + r.period;
  if (!r.schedule.empty()) {
    if (auto c = cron_schedule::parse(r.schedule)) {
      if (auto n = c->next(from)) return *n;
    }
  }
  return time_point{};
}

time_point rotation_due(const rotation_state& r) { return r.attempts > 0 ? r.next_attempt : r.next; }

bool past_window(const rotation_state& r, time_point now) {
  return r.attempts == 0 && !r.schedule.empty() && r.window.count() > 0 && r.next != time_point{} && now > r.next + r.window;
}

void record_failure(rotation_state& r, const error& e, time_point now) {
  r.attempts += 1;
  r.last_error = e.message;
  r.next_attempt = now + doubling_backoff(retry_base, retry_cap, r.attempts);
}

status apply_root_rotation_fields(const config_update& u, rotation_state& r) {
  const bool period_given = u.root_rotation_period && u.root_rotation_period->count() > 0;
  const bool schedule_given = u.root_rotation_schedule && !u.root_rotation_schedule->empty();
  if (period_given && schedule_given) {
    return make_error(errc::invalid_request,
                      "mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided");
  }
  if (u.root_rotation_window && u.root_rotation_window->count() > 0 && period_given) {
    return make_error(errc::invalid_request, "rotation_window does not apply to period");
  }
  if (u.root_rotation_period) {
    if (period_given && *u.root_rotation_period < seconds(5)) {
      return make_error(errc::invalid_request, "rotation_period must be 5 seconds or more");
    }
    r.period = *u.root_rotation_period;
    if (period_given) {
      r.schedule.clear();
      r.window = seconds(0);
    }
  }
  if (u.root_rotation_schedule) {
    if (schedule_given) {
      if (auto cs = cron_schedule::parse(*u.root_rotation_schedule); !cs) {
        return make_error(errc::invalid_request, "could not parse rotation_schedule: " + cs.err().message);
      }
      r.period = seconds(0);
    }
    r.schedule = *u.root_rotation_schedule;
  }
  if (u.root_rotation_window) {
    if (u.root_rotation_window->count() > 0 && r.schedule.empty()) {
      return make_error(errc::invalid_request, "rotation_window does not apply to period");
    }
    if (u.root_rotation_window->count() > 0 && *u.root_rotation_window < seconds(3600)) {
      return make_error(errc::invalid_request, "rotation_window must be 3600 seconds or more");
    }
    r.window = *u.root_rotation_window;
  }
  if (u.disable_automated_rotation) r.disabled = *u.disable_automated_rotation;
  return ok_v;
}

status apply_static_rotation_fields(const static_role_update& u, bool create, rotation_state& r) {
  const bool period_given = u.rotation_period.has_value() && u.rotation_period->count() > 0;
  const bool schedule_given = u.rotation_schedule.has_value() && !u.rotation_schedule->empty();
  if (period_given && schedule_given) {
    return make_error(errc::invalid_request,
                      "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided");
  }
  if (period_given) {
    if (*u.rotation_period < seconds(5)) return make_error(errc::invalid_request, "rotation_period must be 5 seconds or more");
    r.period = *u.rotation_period;
    r.schedule.clear();
    r.window = seconds(0);
  }
  if (schedule_given) {
    if (auto c = cron_schedule::parse(*u.rotation_schedule); !c) {
      return make_error(errc::invalid_request, "could not parse rotation_schedule: " + c.err().message);
    }
    r.schedule = *u.rotation_schedule;
    r.period = seconds(0);
  }
  if (u.rotation_window && u.rotation_window->count() > 0) {
    if (r.schedule.empty()) return make_error(errc::invalid_request, "rotation_window is invalid with use of rotation_period");
    if (*u.rotation_window < seconds(3600)) return make_error(errc::invalid_request, "rotation_window must be 3600 seconds or more");
    r.window = *u.rotation_window;
  }
  if (create && r.period.count() == 0 && r.schedule.empty()) {
    return make_error(errc::invalid_request, "one of rotation_schedule or rotation_period must be provided to create a static account");
  }
  return ok_v;
}

}  // namespace credbroker::engine
