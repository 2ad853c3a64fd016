#include "broker/plugin/username_template.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <vector>

#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::plugin {
namespace {

constexpr std::size_t max_output = 64 * 1024;
constexpr int max_depth = 32;

struct failure {
  std::string message;
};
[[noreturn]] void fail(std::string m) { throw failure{"template: " + std::move(m)}; }

struct val {
  bool is_int = false;
  std::int64_t i = 0;
  std::string s;
  std::string str() const { return is_int ? std::to_string(i) : s; }
};

enum class tok_kind { ident, field, string, number, lparen, rparen, pipe, end };
struct tok {
  tok_kind k;
  std::string text;
  std::int64_t number = 0;
  std::size_t column = 0;
};

std::vector<tok> lex(std::string_view a, std::size_t base_column) {
  std::vector<tok> out;
  std::size_t i = 0;
  while (i < a.size()) {
    const char c = a[i];
    const std::size_t col = base_column + i;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '|') {
      out.push_back({tok_kind::pipe, "|", 0, col});
      ++i;
    } else if (c == '(') {
      out.push_back({tok_kind::lparen, "(", 0, col});
      ++i;
    } else if (c == ')') {
      out.push_back({tok_kind::rparen, ")", 0, col});
      ++i;
    } else if (c == '"') {
      std::string s;
      ++i;
      for (;;) {
        if (i >= a.size()) fail("column " + std::to_string(col) + ": unterminated quoted string");
        const char d = a[i];
        if (d == '"') {
          ++i;
          break;
        }
        if (d == '\\') {
          if (i + 1 >= a.size()) fail("column " + std::to_string(col) + ": unterminated quoted string");
          const char e = a[i + 1];
          switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            default: fail("column " + std::to_string(base_column + i) + ": invalid escape \\" + std::string(1, e));
          }
          i += 2;
          continue;
        }
        s += d;
        ++i;
      }
      out.push_back({tok_kind::string, std::move(s), 0, col});
    } else if (c == '`') {
      const auto close = a.find('`', i + 1);
      if (close == std::string_view::npos) fail("column " + std::to_string(col) + ": unterminated raw string");
      out.push_back({tok_kind::string, std::string(a.substr(i + 1, close - i - 1)), 0, col});
      i = close + 1;
    } else if (c == '.') {
      std::size_t j = i + 1;
      while (j < a.size() && (std::isalnum(static_cast<unsigned char>(a[j])) || a[j] == '_')) ++j;
      out.push_back({tok_kind::field, std::string(a.substr(i + 1, j - i - 1)), 0, col});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && i + 1 < a.size() && std::isdigit(static_cast<unsigned char>(a[i + 1])))) {
      std::size_t j = i + 1;
      while (j < a.size() && std::isdigit(static_cast<unsigned char>(a[j]))) ++j;
      if (j - i > 12) fail("column " + std::to_string(col) + ": number too large");
      out.push_back({tok_kind::number, std::string(a.substr(i, j - i)), std::stoll(std::string(a.substr(i, j - i))), col});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i + 1;
      while (j < a.size() && (std::isalnum(static_cast<unsigned char>(a[j])) || a[j] == '_')) ++j;
      out.push_back({tok_kind::ident, std::string(a.substr(i, j - i)), 0, col});
      i = j;
    } else {
      fail("column " + std::to_string(col) + ": unexpected character '" + std::string(1, c) + "' in action");
    }
  }
  out.push_back({tok_kind::end, "", 0, base_column + a.size()});
  return out;
}

std::string go_layout(std::string_view layout, std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  struct piece {
    const char* go;
    const char* fmt;
  };
  static const piece pieces[] = {{"2006", "%Y"}, {"Z07:00", "Z"}, {"-07:00", "+00:00"}, {"-0700", "+0000"},
                                 {"January", "%B"}, {"Monday", "%A"}, {"Jan", "%b"}, {"Mon", "%a"},
                                 {"MST", "UTC"}, {"01", "%m"}, {"02", "%d"}, {"15", "%H"}, {"03", "%I"},
                                 {"04", "%M"}, {"05", "%S"}, {"06", "%y"}, {"PM", "%p"}};
  std::string fmt;
  for (std::size_t i = 0; i < layout.size();) {
    bool matched = false;
    for (const auto& p : pieces) {
      const std::string_view g(p.go);
      if (layout.substr(i, g.size()) == g) {
        fmt += p.fmt;
        i += g.size();
        matched = true;
        break;
      }
    }
    if (!matched) {
      if (layout[i] == '%') fmt += '%';
      fmt += layout[i++];
    }
  }
  char buf[256];
  const auto n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  return std::string(buf, n);
}

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class evaluator {
 public:
  evaluator(const template_data& d, const template_env& e) : d_(d), e_(e) {}

  val pipeline(const std::vector<tok>& t, std::size_t& p, int depth) {
    if (depth > max_depth) fail("nesting deeper than 32 levels");
    std::optional<val> carried;
    for (;;) {
      val v = command(t, p, carried, depth);
      carried = std::move(v);
      if (t[p].k == tok_kind::pipe) {
        ++p;
        continue;
      }
      return *carried;
    }
  }

 private:
  val operand(const std::vector<tok>& t, std::size_t& p, int depth) {
    const tok& x = t[p];
    switch (x.k) {
      case tok_kind::string: ++p; return val{false, 0, x.text};
      case tok_kind::number: ++p; return val{true, x.number, {}};
      case tok_kind::field:
        ++p;
        if (x.text == "DisplayName") return val{false, 0, d_.display_name};
        if (x.text == "RoleName") return val{false, 0, d_.role_name};
        fail("column " + std::to_string(x.column) + ": unknown field ." + x.text + " (expected .DisplayName or .RoleName)");
      case tok_kind::lparen: {
        ++p;
        val v = pipeline(t, p, depth + 1);
        if (t[p].k != tok_kind::rparen) fail("column " + std::to_string(t[p].column) + ": expected ')'");
        ++p;
        return v;
      }
      default:
        fail("column " + std::to_string(x.column) + ": expected a value, found " + (x.k == tok_kind::end ? "end of action" : "'" + x.text + "'"));
    }
  }

  static bool starts_operand(tok_kind k) {
    return k == tok_kind::string || k == tok_kind::number || k == tok_kind::field || k == tok_kind::lparen;
  }

  val command(const std::vector<tok>& t, std::size_t& p, const std::optional<val>& carried, int depth) {
    if (t[p].k != tok_kind::ident) {
      if (carried) fail("column " + std::to_string(t[p].column) + ": a value cannot follow '|', expected a function");
      val v = operand(t, p, depth);
      if (starts_operand(t[p].k)) fail("column " + std::to_string(t[p].column) + ": can't give an argument to a non-function");
      return v;
    }
    const tok fn = t[p++];
    std::vector<val> args;
    while (starts_operand(t[p].k)) args.push_back(operand(t, p, depth));
    if (carried) args.push_back(*carried);
    return call(fn, args);
  }

  static std::int64_t int_arg(const std::string& fn, const val& v) {
    if (!v.is_int) fail(fn + ": expected an integer, got a string");
    return v.i;
  }
  static void arity(const std::string& fn, const std::vector<val>& a, std::size_t n) {
    if (a.size() != n) {
      fail(fn + ": wrong number of arguments: expected " + std::to_string(n) + ", got " + std::to_string(a.size()));
    }
  }

  val call(const tok& fn, const std::vector<val>& a) {
    const std::string& f = fn.text;
    auto str = [](std::string s) { return val{false, 0, std::move(s)}; };
    if (f == "random") {
      arity(f, a, 1);
      const auto n = int_arg(f, a[0]);
      if (n <= 0 || n > 1024) fail("random: length must be between 1 and 1024");
      return str(e_.random ? e_.random(static_cast<std::size_t>(n)) : random_alnum(static_cast<std::size_t>(n)));
    }
    if (f == "truncate") {
      arity(f, a, 2);
      const auto n = int_arg(f, a[0]);
      if (n <= 0) fail("truncate: length must be positive");
      std::string s = a[1].str();
      if (s.size() > static_cast<std::size_t>(n)) s.resize(static_cast<std::size_t>(n));
      return str(s);
    }
    if (f == "truncate_sha256") {
      arity(f, a, 2);
      const auto n = int_arg(f, a[0]);
      if (n <= 8) fail("truncate_sha256: length must be greater than 8");
      std::string s = a[1].str();
      if (s.size() <= static_cast<std::size_t>(n)) return str(s);
      const std::size_t keep = static_cast<std::size_t>(n) - 8;
      return str(s.substr(0, keep) + sha256_hex(s.substr(keep)).substr(0, 8));
    }
    if (f == "uppercase" || f == "lowercase") {
      arity(f, a, 1);
      std::string s = a[0].str();
      std::transform(s.begin(), s.end(), s.begin(), [&](unsigned char c) {
        return static_cast<char>(f == "uppercase" ? std::toupper(c) : std::tolower(c));
      });
      return str(s);
    }
    if (f == "replace") {
      arity(f, a, 3);
      const std::string from = a[0].str(), to = a[1].str();
      std::string s = a[2].str();
      if (from.empty()) return str(s);
      std::string out;
      for (std::size_t i = 0;;) {
        const auto at = s.find(from, i);
        if (at == std::string::npos) {
          out += s.substr(i);
          break;
        }
        out += s.substr(i, at - i) + to;
        if (out.size() > max_output) fail("output too long");
        i = at + from.size();
      }
      return str(out);
    }
    if (f == "sha256") {
      arity(f, a, 1);
      return str(sha256_hex(a[0].str()));
    }
    if (f == "base64") {
      arity(f, a, 1);
      return str(base64_encode(a[0].str()));
    }
    if (f == "decode_base64") {
      arity(f, a, 1);
      auto d = base64_decode(a[0].str());
      if (!d) fail("decode_base64: input is not valid base64");
      return str(*d);
    }
    if (f == "hex") {
      arity(f, a, 1);
      return str(hex_encode(a[0].str()));
    }
    if (f == "decode_hex") {
      arity(f, a, 1);
      auto d = hex_decode(a[0].str());
      if (!d) fail("decode_hex: input is not valid hexadecimal");
      return str(*d);
    }
    const auto now = e_.now ? e_.now() : std::chrono::system_clock::now();
    if (f == "unix_time") {
      arity(f, a, 0);
      return val{true, std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(), {}};
    }
    if (f == "unix_time_millis") {
      arity(f, a, 0);
      return val{true, std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(), {}};
    }
    if (f == "timestamp") {
      arity(f, a, 1);
      return str(go_layout(a[0].str(), now));
    }
    if (f == "uuid") {
      arity(f, a, 0);
      return str(e_.uuid ? e_.uuid() : random_uuid());
    }
    if (f == "printf") {
      if (a.empty()) fail("printf: missing format");
      const std::string format = a[0].str();
      std::string out;
      std::size_t next = 1;
      for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
          out += format[i];
          continue;
        }
        if (++i >= format.size()) {
          out += "%!(NOVERB)";
          break;
        }
        const char verb = format[i];
        if (verb == '%') {
          out += '%';
          continue;
        }
        if (next >= a.size()) {
          out += std::string("%!") + verb + "(MISSING)";
          continue;
        }
        const val& v = a[next++];
        switch (verb) {
          case 's':
          case 'v': out += v.str(); break;
          case 'd': out += v.is_int ? std::to_string(v.i) : "%!d(string=" + v.s + ")"; break;
          case 'q': out += go_quote(v.str()); break;
          default: fail(std::string("printf: unsupported verb %") + verb);
        }
        if (out.size() > max_output) fail("output too long");
      }
      if (next < a.size()) out += "%!(EXTRA)";
      return str(out);
    }
    if (f == "print") {
      std::string out;
      for (const auto& v : a) out += v.str();
      return str(out);
    }
    if (f == "if" || f == "else" || f == "end" || f == "range" || f == "with" || f == "define" || f == "block" ||
        f == "template") {
      fail("column " + std::to_string(fn.column) + ": action \"" + f + "\" is not supported in username templates");
    }
    fail("column " + std::to_string(fn.column) + ": unknown function \"" + f + "\"");
  }

  const template_data& d_;
  const template_env& e_;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

result<std::string> render_template(std::string_view tmpl, const template_data& data, const template_env& env) {
  try {
    std::string out;
    std::size_t i = 0;
    evaluator ev(data, env);
    while (i < tmpl.size()) {
      const auto open = tmpl.find("{{", i);
      std::string_view text = tmpl.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i);
      if (open == std::string_view::npos) {
        out += text;
        break;
      }
      std::size_t start = open + 2;
      if (start < tmpl.size() && tmpl[start] == '-' && start + 1 < tmpl.size() && is_space(tmpl[start + 1])) {
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
        ++start;
      }
      out += text;
      if (tmpl.substr(start, 2) == "/*") {
        const auto close_comment = tmpl.find("*/", start + 2);
        if (close_comment == std::string_view::npos) fail("unclosed comment");
        const auto end = tmpl.find("}}", close_comment);
        if (end == std::string_view::npos) fail("unclosed action");
        i = end + 2;
        continue;
      }
      // Find the closing braces outside string literals.
      std::size_t j = start;
      char quote = 0;
      for (; j < tmpl.size(); ++j) {
        const char c = tmpl[j];
        if (quote) {
          if (c == '\\' && quote == '"') {
            ++j;
          } else if (c == quote) {
            quote = 0;
          }
        } else if (c == '"' || c == '`') {
          quote = c;
        } else if (c == '}' && j + 1 < tmpl.size() && tmpl[j + 1] == '}') {
          break;
        }
      }
      if (j >= tmpl.size()) fail("unclosed action");
      std::size_t body_end = j;
      bool trim_after = false;
      if (body_end > start && tmpl[body_end - 1] == '-' && body_end - 1 > start && is_space(tmpl[body_end - 2])) {
        trim_after = true;
        --body_end;
      }
      const auto tokens = lex(tmpl.substr(start, body_end - start), start + 1);
      if (tokens.front().k == tok_kind::end) fail("column " + std::to_string(start + 1) + ": missing value for command");
      std::size_t p = 0;
      const val v = ev.pipeline(tokens, p, 0);
      if (tokens[p].k != tok_kind::end) {
        fail("column " + std::to_string(tokens[p].column) + ": unexpected '" + tokens[p].text + "' in action");
      }
      out += v.str();
      if (out.size() > max_output) fail("output too long");
      i = j + 2;
      if (trim_after) {
        while (i < tmpl.size() && is_space(tmpl[i])) ++i;
      }
    }
    return out;
  } catch (const failure& f) {
    return make_error(errc::invalid_request, f.message);
  } catch (const std::exception&) {
    return make_error(errc::invalid_request, "template: invalid template");
  }
}

const template_env& validation_env() {
  static const template_env env{
      [](std::size_t n) { return std::string(n, 'Q'); },
      [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)); },
      [] { return std::string("00000000-0000-4000-8000-000000000000"); }};
  return env;
}

status validate_template(std::string_view tmpl) {
  auto r = render_template(tmpl, template_data{}, validation_env());
  if (!r) return std::move(r).err();
  return ok_v;
}

}  // namespace credbroker::plugin
