#include "broker/core/duration.hpp"

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

result<std::chrono::seconds> non_negative(std::int64_t seconds) {
  if (seconds < 0) return make_error(errc::invalid_request, "cannot provide negative value");
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
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return invalid(text);
        v = v * 10 + (text[j] - '0');
      }
      return non_negative(text[0] == '-' ? -v : v);
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
    return non_negative(v * 86400);
  }
  auto ns = parse_go_duration(text);
  if (!ns) return std::move(ns).err();
  return non_negative(std::chrono::duration_cast<std::chrono::seconds>(*ns).count());
}

result<std::chrono::seconds> parse_duration_value(const nlohmann::json& value) {
  if (value.is_null()) return std::chrono::seconds{0};
  if (value.is_number_integer()) return non_negative(value.get<std::int64_t>());
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!(d > -9.2e18 && d < 9.2e18)) return make_error(errc::invalid_request, "duration out of range");
    return non_negative(static_cast<std::int64_t>(d));
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

std::string format_rfc3339_nano(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (const auto frac = ns % 1'000'000'000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "Z";
}

}  // namespace credbroker
