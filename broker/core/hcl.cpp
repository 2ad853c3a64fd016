#include "broker/core/hcl.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace credbroker::hcl {
namespace {

constexpr int max_depth = 64;

struct parse_error {
  position pos;
  std::string message;
};

class parser {
 public:
  explicit parser(std::string_view text) : s_(text) {}

  document parse_document() {
    document d;
    d.items = parse_body(false, 0);
    return d;
  }

 private:
  [[noreturn]] void fail(position p, std::string message) { throw parse_error{p, std::move(message)}; }
  [[noreturn]] void fail_here(std::string message) { fail(pos(), std::move(message)); }

  position pos() const { return {line_, col_}; }
  bool at_end() const { return i_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  void advance() {
    if (s_[i_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++i_;
  }

  std::string found() const {
    if (at_end()) return "end of input";
    const char c = peek();
    if (c == '\n') return "a newline";
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
    }
    return std::string("'") + c + "'";
  }

  // Skips blanks and comments; newlines too when `newlines` is set. Returns true if a newline was crossed.
  bool skip(bool newlines) {
    bool crossed = false;
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        advance();
      } else if (c == '\n') {
        if (!newlines) return crossed;
        crossed = true;
        advance();
      } else if (c == '#' || (c == '/' && peek(1) == '/')) {
        while (!at_end() && peek() != '\n') advance();
      } else if (c == '/' && peek(1) == '*') {
        const position start = pos();
        advance();
        advance();
        for (;;) {
          if (at_end()) fail(start, "unterminated comment");
          if (peek() == '*' && peek(1) == '/') {
            advance();
            advance();
            break;
          }
          if (peek() == '\n') crossed = true;
          advance();
        }
      } else {
        return crossed;
      }
    }
    return crossed;
  }

  static bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
  static bool ident_char(char c) {
    return ident_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }

  std::string parse_identifier() {
    std::string out;
    while (!at_end() && ident_char(peek())) {
      out += peek();
      advance();
    }
    return out;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string parse_string() {
    const position start = pos();
    advance();  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail(start, "unterminated string");
      const char c = peek();
      if (c == '"') {
        advance();
        return out;
      }
      if (c == '\n') fail(start, "unterminated string (newline before the closing quote)");
      if (c == '\\') {
        const position esc = pos();
        advance();
        if (at_end()) fail(start, "unterminated string");
        const char e = peek();
        advance();
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'u': {
            std::uint32_t cp = 0;
            for (int k = 0; k < 4; ++k) {
              const char h = peek();
              int d = -1;
              if (h >= '0' && h <= '9') d = h - '0';
              if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
              if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
              if (d < 0 || at_end()) fail(esc, "invalid \\u escape: expected 4 hexadecimal digits");
              cp = cp * 16 + static_cast<std::uint32_t>(d);
              advance();
            }
            append_utf8(out, cp);
            break;
          }
          default:
            fail(esc, std::string("invalid escape sequence '\\") + e + "'");
        }
        continue;
      }
      out += c;
      advance();
    }
  }

  value parse_number() {
    value v;
    v.k = value::kind::number;
    v.pos = pos();
    std::string lit;
    if (peek() == '-') {
      lit += '-';
      advance();
    }
    auto digits = [&] {
      std::size_t n = 0;
      while (!at_end() && peek() >= '0' && peek() <= '9') {
        lit += peek();
        advance();
        ++n;
      }
      return n;
    };
    if (digits() == 0) fail(v.pos, "invalid number: expected a digit after '-'");
    if (peek() == '.') {
      lit += '.';
      advance();
      if (digits() == 0) fail(v.pos, "invalid number \"" + lit + "\": expected a digit after '.'");
    }
    if (!at_end() && ident_char(peek())) fail(v.pos, "invalid number: unexpected " + found() + " after \"" + lit + "\"");
    v.str = lit;
    const auto r = std::from_chars(lit.data(), lit.data() + lit.size(), v.number);
    if (r.ec != std::errc{}) fail(v.pos, "invalid number \"" + lit + "\"");
    return v;
  }

  value parse_value(int depth) {
    if (depth > max_depth) fail_here("nesting deeper than 64 levels");
    skip(true);
    value v;
    v.pos = pos();
    const char c = peek();
    if (at_end()) fail_here("expected a value, found end of input");
    if (c == '"') {
      v.k = value::kind::string;
      v.str = parse_string();
      return v;
    }
    if (c == '<' && peek(1) == '<') fail_here("heredoc strings are not supported; use a quoted string");
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (c == '[') return parse_list(depth);
    if (c == '{') {
      advance();
      v.k = value::kind::object;
      v.object = parse_body(true, depth + 1);
      return v;
    }
    if (ident_start(c)) {
      const std::string word = parse_identifier();
      if (word == "true" || word == "false") {
        v.k = value::kind::boolean;
        v.boolean = word == "true";
        return v;
      }
      fail(v.pos, "expected a value, found identifier \"" + word + "\" (strings must be quoted)");
    }
    fail_here("expected a value, found " + found());
  }

  value parse_list(int depth) {
    value v;
    v.k = value::kind::list;
    v.pos = pos();
    advance();  // '['
    for (;;) {
      skip(true);
      if (at_end()) fail(v.pos, "unterminated list: expected ']'");
      if (peek() == ']') {
        advance();
        return v;
      }
      v.list.push_back(parse_value(depth + 1));
      skip(true);
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == ']') continue;
      if (at_end()) fail(v.pos, "unterminated list: expected ']'");
      fail_here("expected ',' or ']' in a list, found " + found());
    }
  }

  // A body: items until '}' (when `braced`) or end of input.
  std::vector<item> parse_body(bool braced, int depth) {
    if (depth > max_depth) fail_here("nesting deeper than 64 levels");
    const position open = {line_, col_ - 1};
    std::vector<item> items;
    for (;;) {
      skip(true);
      if (at_end()) {
        if (braced) fail(open, "unterminated block: expected '}'");
        return items;
      }
      if (peek() == '}') {
        if (!braced) fail_here("unexpected '}' without a matching '{'");
        advance();
        return items;
      }
      items.push_back(parse_item(depth));
      // After an item: a newline, ',', '}' or end of input.
      const bool newline = skip(false);
      if (peek() == ',') {
        advance();
      } else if (!newline && !at_end() && peek() != '}' && peek() != '\n' &&
                 items.back().v.k != value::kind::object) {  // a block may be followed directly
        fail_here("expected a newline or ',' after the value of \"" + items.back().key + "\", found " + found());
      }
    }
  }

  item parse_item(int depth) {
    item it;
    it.pos = pos();
    const char c = peek();
    if (c == '"') {
      it.key = parse_string();
    } else if (ident_start(c)) {
      it.key = parse_identifier();
    } else {
      fail_here("expected a key, found " + found());
    }
    // Labels, then '=' value or '{' body.
    std::vector<std::pair<std::string, position>> labels;
    for (;;) {
      skip(false);
      if (peek() == '"') {
        const position lp = pos();
        labels.emplace_back(parse_string(), lp);
        continue;
      }
      break;
    }
    value body;
    if (peek() == '=') {
      advance();
      skip(false);
      if (at_end() || peek() == '\n') fail_here("expected a value after '=' for \"" + it.key + "\"");
      if (!labels.empty() && peek() != '{') fail_here("a key with labels must be followed by a block '{'");
      body = parse_value(depth + 1);
    } else if (peek() == '{') {
      body.pos = pos();
      advance();
      body.k = value::kind::object;
      body.object = parse_body(true, depth + 1);
    } else {
      fail_here("expected '=' or '{' after \"" + it.key + "\", found " + found());
    }
    // Fold labels into nested objects, innermost last: key "a" "b" {x} -> key {a {b {x}}}.
    for (auto l = labels.rbegin(); l != labels.rend(); ++l) {
      value wrapper;
      wrapper.k = value::kind::object;
      wrapper.pos = l->second;
      item inner;
      inner.key = l->first;
      inner.pos = l->second;
      inner.v = std::move(body);
      wrapper.object.push_back(std::move(inner));
      body = std::move(wrapper);
    }
    it.v = std::move(body);
    return it;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
};

value from_json(const nlohmann::json& j, int depth) {
  if (depth > max_depth) throw parse_error{{}, "nesting deeper than 64 levels"};
  value v;
  if (j.is_string()) {
    v.k = value::kind::string;
    v.str = j.get<std::string>();
  } else if (j.is_boolean()) {
    v.k = value::kind::boolean;
    v.boolean = j.get<bool>();
  } else if (j.is_number()) {
    v.k = value::kind::number;
    v.number = j.get<double>();
    v.str = j.dump();
  } else if (j.is_array()) {
    v.k = value::kind::list;
    for (const auto& e : j) v.list.push_back(from_json(e, depth + 1));
  } else if (j.is_object()) {
    v.k = value::kind::object;
    for (const auto& [k, e] : j.items()) v.object.push_back(item{k, from_json(e, depth + 1), {}});
  } else {
    throw parse_error{{}, "null is not a valid value"};
  }
  return v;
}

}  // namespace

std::string describe(const position& p) {
  if (p.line == 0) return "";
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column) + ": ";
}

const char* value::kind_name() const {
  switch (k) {
    case kind::string: return "a string";
    case kind::number: return "a number";
    case kind::boolean: return "a boolean";
    case kind::list: return "a list";
    case kind::object: return "a block";
  }
  return "a value";
}

result<document> parse(std::string_view text) {
  std::size_t first = 0;
  while (first < text.size() && (text[first] == ' ' || text[first] == '\t' || text[first] == '\r' || text[first] == '\n')) {
    ++first;
  }
  try {
    if (first < text.size() && text[first] == '{') {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(text);
      } catch (const nlohmann::json::parse_error& e) {
        return make_error(errc::invalid_request, "invalid JSON at byte " + std::to_string(e.byte));
      } catch (const nlohmann::json::exception&) {
        // out_of_range: a number too large for a double (e.g. 1e999); found by the fuzzer.
        return make_error(errc::invalid_request, "invalid JSON: a number is out of range");
      }
      document d;
      d.items = from_json(j, 0).object;
      return d;
    }
    parser p(text);
    return p.parse_document();
  } catch (const parse_error& e) {
    return make_error(errc::invalid_request, describe(e.pos) + e.message);
  }
}

}  // namespace credbroker::hcl
