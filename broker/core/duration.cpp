#include "broker/core/duration.hpp"

#include <cmath>
#include <ctime>

#include <cstdint>
#include <limits>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace credbroker {
namespace {

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

error invalid(std::string_view orig) {
  return make_error(errc::invalid_request, "time: invalid duration " + go_quote(orig));
}

constexpr std::uint64_t limit = std::uint64_t{1} << 63;

// Units of Go's time package, in nanoseconds.
std::uint64_t unit_ns(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "m") return 60'000'000'000ULL;
  if (u == "h") return 3'600'000'000'000ULL;
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

result<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  const std::string_view orig = text;
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return invalid(orig);
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) return invalid(orig);
    // Integer part.
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > (limit - 1) / 10) return invalid(orig);
      v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
      if (v > limit) return invalid(orig);
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction.
    std::uint64_t f = 0;
    double scale = 1.0;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      std::size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && is_digit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          overflow = true;
          continue;
        }
        f = f * 10 + static_cast<std::uint64_t>(s[j] - '0');
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid(orig);
    // Unit.
    std::size_t k = 0;
    while (k < s.size() && !(s[k] == '.' || is_digit(s[k]))) ++k;
    if (k == 0) {
      return make_error(errc::invalid_request, "time: missing unit in duration " + go_quote(orig));
    }
    const std::string_view u = s.substr(0, k);
    s.remove_prefix(k);
    const std::uint64_t unit = unit_ns(u);
    if (unit == 0) {
      return make_error(errc::invalid_request,
                        "time: unknown unit " + go_quote(u) + " in duration " + go_quote(orig));
    }
    if (v > limit / unit) return invalid(orig);
    v *= unit;
    if (f > 0) {
      v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > limit) return invalid(orig);
    }
    total += v;
    if (total > limit) return invalid(orig);
  }
  if (neg) {
    return std::chrono::nanoseconds{total == limit ? std::numeric_limits<std::int64_t>::min()
                                                   : -static_cast<std::int64_t>(total)};
  }
  if (total > limit - 1) return invalid(orig);
  return std::chrono::nanoseconds{static_cast<std::int64_t>(total)};
}

namespace {

// Every accepted duration passes here: not negative, at most max_duration.
result<std::chrono::seconds> in_range(std::int64_t seconds, std::string_view shown) {
  if (seconds < 0) return make_error(errc::invalid_request, "cannot provide negative value");
  if (seconds > max_duration.count()) {
    return make_error(errc::invalid_request, "duration " + go_quote(shown) + " is out of range: the largest accepted is " +
                                                 format_go_duration(max_duration) + " (100 years)");
  }
  return std::chrono::seconds{seconds};
}

}  // namespace

result<std::chrono::seconds> parse_duration_seconds(std::string_view text) {
  if (text.empty()) return std::chrono::seconds{0};
  // Plain integer: seconds.
  {
    std::size_t i = (text[0] == '-' || text[0] == '+') ? 1 : 0;
    bool all_digits = i < text.size();
    for (std::size_t j = i; j < text.size(); ++j) all_digits = all_digits && is_digit(text[j]);
    if (all_digits) {
      std::int64_t v = 0;
      for (std::size_t j = i; j < text.size(); ++j) {
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          return text[0] == '-' ? in_range(-1, text) : in_range(max_duration.count() + 1, text);
        }
        v = v * 10 + (text[j] - '0');
      }
      return in_range(text[0] == '-' ? -v : v, text);
    }
  }
  // Whole days: "7d".
  if (text.back() == 'd') {
    const std::string_view num = text.substr(0, text.size() - 1);
    bool digits = !num.empty();
    std::int64_t v = 0;
    for (char c : num) {
      digits = digits && is_digit(c);
      if (!digits || v > std::numeric_limits<std::int64_t>::max() / 864000) break;
      v = v * 10 + (c - '0');
    }
    if (!digits) {
      return make_error(errc::invalid_request,
                        "strconv.ParseInt: parsing " + go_quote(num) + ": invalid syntax");
    }
    if (v > max_duration.count() / 86400) return in_range(max_duration.count() + 1, text);
    return in_range(v * 86400, text);
  }
  auto ns = parse_go_duration(text);
  if (!ns) return std::move(ns).err();
  return in_range(std::chrono::duration_cast<std::chrono::seconds>(*ns).count(), text);
}

result<std::chrono::seconds> parse_duration_value(const nlohmann::json& value) {
  if (value.is_null()) return std::chrono::seconds{0};
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max_duration.count())) {
    return in_range(max_duration.count() + 1, value.dump());
  }
  if (value.is_number_integer()) return in_range(value.get<std::int64_t>(), value.dump());
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isnan(d)) return make_error(errc::invalid_request, "duration " + value.dump() + " is not a number");
    if (d < 0) return in_range(-1, value.dump());
    if (d > static_cast<double>(max_duration.count())) return in_range(max_duration.count() + 1, value.dump());
    return in_range(static_cast<std::int64_t>(d), value.dump());
  }
  if (value.is_string()) return parse_duration_seconds(value.get_ref<const std::string&>());
  return make_error(errc::invalid_request,
                    std::string("expected a number of seconds or a duration string such as \"1h\", got ") +
                        value.type_name());
}

std::string format_go_duration(std::chrono::seconds d) {
  std::int64_t s = d.count();
  if (s == 0) return "0s";
  std::string sign;
  std::uint64_t u;
  if (s < 0) {
    sign = "-";
    u = static_cast<std::uint64_t>(-(s + 1)) + 1;
  } else {
    u = static_cast<std::uint64_t>(s);
  }
  const std::uint64_t h = u / 3600, m = (u % 3600) / 60, sec = u % 60;
  if (h > 0) return fmt::format("{}{}h{}m{}s", sign, h, m, sec);
  if (m > 0) return fmt::format("{}{}m{}s", sign, m, sec);
  return fmt::format("{}{}s", sign, sec);
}

std::string human_duration(std::chrono::seconds d) {
  if (d.count() == 0) return "0s";
  std::string s = format_go_duration(d);
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "m0s") == 0) s.resize(s.size() - 2);
  if (const auto idx = s.find("h0m"); idx != std::string::npos && idx > 0) s.erase(idx + 1, 2);
  return s;
}

std::string format_rfc3339_seconds(std::int64_t unix_seconds) {
  const std::time_t secs = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[64];
  if (gmtime_r(&secs, &tm) == nullptr) return "9999-12-31T23:59:59Z";  // beyond any calendar gmtime knows
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + "Z";
}

std::string format_rfc3339_nano(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::string out = format_rfc3339_seconds(ns / 1'000'000'000);
  out.pop_back();  // the "Z", after the fraction
  if (const auto frac = ns % 1'000'000'000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "Z";
}

}  // namespace credbroker
