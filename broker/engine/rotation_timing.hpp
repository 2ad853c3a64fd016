#pragma once
// rotation_timing: when a root credential or a static account rotates next, and the checks of the
// rotation fields of a config or static-role write (Vault's rotation_period / rotation_schedule /
// rotation_window / disable_automated_rotation). No I/O: the caller passes the time.
//
//   period      rotate every period after the last rotation (5 s or more)
//   schedule    or at the times of a 5-field cron (UTC); period and schedule exclude each other
//   window      with a schedule only (3600 s or more): a rotation that is more than window late
//               waits for the next scheduled time instead of running
//   failures    retry after 10 s, 20 s, 40 s ... at most 1 h (attempts counts them), with a fresh
//               password each time
//
// Invariant: rotation_due(r) is r.next_attempt while an attempt has failed, else r.next; epoch means
// "not scheduled". A successful rotation resets attempts and last_error.
//
// Example: {period 1h, last 10:00} -> next_rotation_time = 11:00; {schedule "0 3 * * *", window 1h,
// next 03:00} at 04:30 -> past_window, so the job moves next to tomorrow 03:00 and does not rotate.
//
// Thread: pure functions.
#include "broker/core/clock.hpp"
#include "broker/core/result.hpp"
#include "broker/engine/records.hpp"

namespace credbroker::engine {

// The next rotation after `from` by period or schedule; epoch when neither is set.
time_point next_rotation_time(const rotation_state& r, time_point from);

// When the rotation job runs: the retry time after a failure, else the next rotation; epoch: never.
time_point rotation_due(const rotation_state& r);

// A scheduled rotation that fell due more than its window ago (schedule and window set, no failed
// attempt pending): it waits for the next scheduled time.
bool past_window(const rotation_state& r, time_point now);

// Records a failed attempt: attempts + 1, the error's message, the retry time with backoff.
void record_failure(rotation_state& r, const error& e, time_point now);

// Checks the automated-rotation fields of a config write and applies them to `r`. Errors (invalid_request):
// "mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of
// them can be provided", "rotation_window does not apply to period", a period under 5 s, a window
// under 1 h, a schedule that does not parse.
status apply_root_rotation_fields(const config_update& u, rotation_state& r);

// The same for a static-role write (Vault's static-role messages); a create needs a period or a
// schedule ("one of rotation_schedule or rotation_period must be provided to create a static
// account").
status apply_static_rotation_fields(const static_role_update& u, bool create, rotation_state& r);

}  // namespace credbroker::engine
