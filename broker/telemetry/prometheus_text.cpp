#include "broker/telemetry/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace credbroker::telemetry {
namespace {

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

void append_labels(std::string& out, const std::vector<std::pair<std::string, std::string>>& labels,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += prometheus_name(k);
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void line(std::string& out, const std::string& name, std::string_view suffix, const exposed_point& p, double value,
          std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  append_labels(out, p.labels, extra_name, extra_value);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

const char* type_of(const exposed_family& f, const std::string& name) {
  if (f.kind == metric_kind::counter && !name.ends_with("_total")) return "untyped";
  return to_string(f.kind);
}

}  // namespace

std::string prometheus_name(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0 && is_lower_or_digit(key[i - 1])) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else if (is_lower_or_digit(c) || c == '_') {
      out += c;
    } else {
      out += '_';
    }
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus's Go client writes: the shortest
  // digits, in exponent form when the exponent is below -4 or at least 6.
  char buf[64];
  const auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<std::size_t>(sci.ptr - buf));
  // The exponent is read within the digits just written: buf is not NUL-terminated and holds
  // what an earlier call left behind it ("1e-03" followed by "05" must not read as -305).
  int exp = 0;
  const std::string_view e = s.substr(s.find('e') + 1);
  std::from_chars(e.data() + (e.front() == '+' ? 1 : 0), e.data() + e.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(s);
  const auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string render_prometheus(const exposition& e) {
  std::string out;
  std::set<std::string> written;  // two keys can flatten to one name; the first wins
  for (const auto& f : e.families) {
    const std::string name = prometheus_name(f.key);
    if (!written.insert(name).second) continue;
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_of(f, name) + "\n";
    for (const auto& p : f.points) {
      switch (f.kind) {
        case metric_kind::counter:
        case metric_kind::gauge:
          line(out, name, "", p, p.value);
          break;
        case metric_kind::histogram: {
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i < p.hist.counts.size(); ++i) {
            cumulative += p.hist.counts[i];
            const std::string le = i < f.bounds.size() ? format_value(f.bounds[i]) : "+Inf";
            line(out, name, "_bucket", p, static_cast<double>(cumulative), "le", le);
          }
          line(out, name, "_sum", p, p.hist.sum);
          line(out, name, "_count", p, static_cast<double>(p.hist.count));
          break;
        }
        case metric_kind::summary:
          for (const auto& [q, v] : p.quantiles) line(out, name, "", p, v, "quantile", format_value(q));
          line(out, name, "_sum", p, p.hist.sum);
          line(out, name, "_count", p, static_cast<double>(p.hist.count));
          break;
      }
    }
  }
  return out;
}

}  // namespace credbroker::telemetry
