#include "broker/core/cron.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

namespace credbroker {
namespace {

struct field_spec {
  const char* name;
  int min, max;
  const std::array<const char*, 13>* names;  // index = value; nullptr: numbers only
};

constexpr std::array<const char*, 13> month_names = {"", "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 13> dow_names = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "", "", "", "", "", ""};

const field_spec specs[5] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day of month", 1, 31, nullptr},
                             {"month", 1, 12, &month_names},
                             {"day of week", 0, 7, &dow_names}};

error bad(int field, const std::string& message) {
  return make_error(errc::invalid_request,
                    "field " + std::to_string(field + 1) + " (" + specs[field].name + "): " + message);
}

result<int> value_of(int field, std::string_view tok) {
  const field_spec& f = specs[field];
  if (tok.empty()) return bad(field, "missing value");
  if (std::isdigit(static_cast<unsigned char>(tok.front())) != 0) {
    int v = 0;
    for (char c : tok) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) return bad(field, "\"" + std::string(tok) + "\" is not a number");
      v = v * 10 + (c - '0');
      if (v > 1000) break;
    }
    if (v < f.min || v > f.max) {
      return bad(field, "value " + std::to_string(v) + " out of range " + std::to_string(f.min) + "-" +
                            std::to_string(f.max == 7 ? 6 : f.max));
    }
    return v;
  }
  if (f.names != nullptr) {
    std::string up(tok);
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (int i = 0; i < 13; ++i) {
      if ((*f.names)[static_cast<std::size_t>(i)][0] != '\0' && up == (*f.names)[static_cast<std::size_t>(i)]) return i;
    }
    return bad(field, "unknown name \"" + std::string(tok) + "\"");
  }
  return bad(field, "\"" + std::string(tok) + "\" is not a number");
}

// Sets the bits of one field; returns whether it was unrestricted ("*" or "?" without a step).
template <std::size_t N>
result<bool> parse_field(int field, std::string_view text, std::bitset<N>& bits) {
  const field_spec& f = specs[field];
  const int max = f.max == 7 ? 6 : f.max;  // day of week: 7 folds onto 0
  bool any = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return bad(field, "empty list item");
    std::string_view range = item;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view st = item.substr(slash + 1);
      if (st.empty() || st.find_first_not_of("0123456789") != std::string_view::npos || st.size() > 4) {
        return bad(field, "bad step \"" + std::string(st) + "\"");
      }
      step = std::stoi(std::string(st));
      if (step < 1) return bad(field, "step must be at least 1");
    }
    const bool stepped = item.find('/') != std::string_view::npos;
    int lo = 0, hi = 0;
    if (range == "*" || range == "?") {
      lo = f.min;
      hi = max;
      if (!stepped) any = true;
    } else if (const auto dash = range.find('-'); dash != std::string_view::npos) {
      auto a = value_of(field, range.substr(0, dash));
      if (!a) return std::move(a).err();
      auto b = value_of(field, range.substr(dash + 1));
      if (!b) return std::move(b).err();
      if (*a > *b) return bad(field, "range " + std::string(range) + " runs backwards");
      lo = *a;
      hi = *b;
    } else {
      auto v = value_of(field, range);
      if (!v) return std::move(v).err();
      lo = *v;
      hi = stepped ? max : *v;  // "a/n" = a-max/n
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(f.max == 7 && v == 7 ? 0 : v));  // 7: Sunday
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return any;
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return d[m - 1];
}

}  // namespace

result<cron_schedule> cron_schedule::parse(std::string_view expr) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i])) != 0) ++i;
    if (i >= expr.size()) break;
    const std::size_t start = i;
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i])) == 0) ++i;
    fields.push_back(expr.substr(start, i - start));
  }
  if (fields.empty()) return make_error(errc::invalid_request, "empty cron expression");
  if (fields.front().front() == '@') {
    return make_error(errc::invalid_request, "descriptors such as \"" + std::string(fields.front()) +
                                                 "\" are not supported; use 5 fields (minute hour day-of-month month day-of-week)");
  }
  if (fields.size() != 5) {
    return make_error(errc::invalid_request, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                                                 std::to_string(fields.size()));
  }
  cron_schedule c;
  if (auto r = parse_field(0, fields[0], c.minutes_); !r) return std::move(r).err();
  if (auto r = parse_field(1, fields[1], c.hours_); !r) return std::move(r).err();
  auto dom = parse_field(2, fields[2], c.dom_);
  if (!dom) return std::move(dom).err();
  if (auto r = parse_field(3, fields[3], c.months_); !r) return std::move(r).err();
  auto dow = parse_field(4, fields[4], c.dow_);
  if (!dow) return std::move(dow).err();
  // As cron: a field starting with * or ? counts as unrestricted for the day rule, even with a step.
  c.dom_any_ = fields[2].front() == '*' || fields[2].front() == '?';
  c.dow_any_ = fields[4].front() == '*' || fields[4].front() == '?';
  c.text_ = std::string(expr);
  return c;
}

std::optional<std::chrono::system_clock::time_point> cron_schedule::next(std::chrono::system_clock::time_point t) const {
  using namespace std::chrono;
  // The next whole minute after t.
  auto m = floor<minutes>(t) + minutes(1);
  // Civil date of the start.
  const std::time_t tt = system_clock::to_time_t(m);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  int y = tm.tm_year + 1900, mo = tm.tm_mon + 1, d = tm.tm_mday;
  int h = tm.tm_hour, mi = tm.tm_min;
  // Day by day for up to ~5 years (February 29th schedules need 4); within a day, hour by minute.
  for (int day = 0; day < 366 * 5 + 2; ++day) {
    const bool month_ok = months_.test(static_cast<std::size_t>(mo));
    if (month_ok) {
      const std::int64_t dn = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
      const int wd = static_cast<int>(((dn % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
      const bool dom_ok = dom_.test(static_cast<std::size_t>(d));
      const bool dow_ok = dow_.test(static_cast<std::size_t>(wd));
      bool day_ok;
      if (dom_any_ && dow_any_) day_ok = true;
      else if (dom_any_) day_ok = dow_ok;
      else if (dow_any_) day_ok = dom_ok;
      else day_ok = dom_ok || dow_ok;
      if (day_ok) {
        for (int hh = h; hh < 24; ++hh) {
          if (!hours_.test(static_cast<std::size_t>(hh))) continue;
          for (int mm = (hh == h ? mi : 0); mm < 60; ++mm) {
            if (!minutes_.test(static_cast<std::size_t>(mm))) continue;
            return system_clock::time_point(days(dn) + hours(hh) + minutes(mm));
          }
        }
      }
    }
    h = 0;
    mi = 0;
    if (++d > days_in_month(y, mo)) {
      d = 1;
      if (++mo > 12) {
        mo = 1;
        ++y;
      }
    }
  }
  return std::nullopt;
}

}  // namespace credbroker
