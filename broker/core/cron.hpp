#pragma once
// cron: 5-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC, as
// Vault's rotation_schedule (robfig/cron's standard parser). Hand-written: no Debian library.
//
// Grammar, per field:
//   field := item ("," item)*
//   item  := ("*" | "?" | value | value "-" value) ["/" step]       value: a number or, for month and
//                                                                    day-of-week, a 3-letter name
// Ranges: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 (JAN-DEC), day-of-week 0-6 (SUN-SAT;
// 7 is Sunday too). "a/n" means a-max/n. Names are case-insensitive.
// Days: when both day-of-month and day-of-week are restricted (neither starts with "*" or "?"), a
// day matches if EITHER matches, as in cron; otherwise the restricted one decides.
//
// Worked example: "0 */6 * * MON-FRI" -> minute {0}, hour {0,6,12,18}, any day of month, any month,
// Monday to Friday. next(Fri 2026-12-04 20:30 UTC) = Mon 2026-12-07 00:00 UTC.
//
// Errors name the field and the offending text, e.g.
//   "field 2 (hour): value 24 out of range 0-23", "expected 5 fields, got 6",
//   "field 4 (month): unknown name \"JANUARY\"", "field 1 (minute): step must be at least 1".
// Invariant: next() returns a time strictly after its argument, on a whole minute, or nullopt when
// no time ever matches (e.g. "0 0 31 2 *", February 31st) — it never loops forever (bounded search).
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "broker/core/result.hpp"

namespace credbroker {

class cron_schedule {
 public:
  static result<cron_schedule> parse(std::string_view expr);

  // The first matching minute strictly after t (UTC); nullopt if none within ~5 years.
  std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point t) const;

  const std::string& text() const { return text_; }

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;  // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> dow_;   // 0..6, Sunday = 0
  bool dom_any_ = true, dow_any_ = true;
  std::string text_;
};

}  // namespace credbroker
