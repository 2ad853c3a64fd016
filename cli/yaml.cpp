#include "cli/yaml.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

namespace credbroker::cli {
namespace {

constexpr std::size_t max_implicit_key = 1000;

bool is_reserved_word(const std::string& s) {
  static const std::array<const char*, 10> words = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"};
  if (s.size() > 5) return false;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : words) {
    if (lower == w) return true;
  }
  return false;
}

bool plain_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return false;
  if (std::isalnum(u) != 0) return true;
  switch (c) {
    case ' ': case '_': case '-': case '.': case '/': case '@': case '+': case '=': case '(': case ')': case ';':
      return true;
    default:
      return false;
  }
}

bool can_be_plain(const std::string& s) {
  if (s.empty() || s.back() == ' ') return false;
  const auto first = static_cast<unsigned char>(s.front());
  if (std::isalpha(first) == 0 && s.front() != '_' && s.front() != '/') return false;
  for (char c : s) {
    if (!plain_char(c)) return false;
  }
  return !is_reserved_word(s);
}

// Decodes one UTF-8 sequence at s[i] (valid UTF-8, as nlohmann::json holds); returns its length.
std::size_t utf8_sequence(const std::string& s, std::size_t i, std::uint32_t& cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = 1;
  if (b >= 0xF0) len = 4, cp = b & 0x07u;
  else if (b >= 0xE0) len = 3, cp = b & 0x0Fu;
  else if (b >= 0xC0) len = 2, cp = b & 0x1Fu;
  else return cp = b, 1;
  if (i + len > s.size()) return cp = 0xFFFD, s.size() - i;
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  return len;
}

bool needs_escape(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF ||
         cp == 0xFFFE || cp == 0xFFFF;
}

std::string hex4(std::uint32_t cp) {
  static const char* digits = "0123456789ABCDEF";
  std::string out = "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(cp >> shift) & 0xF];
  return out;
}

std::string double_quoted(const std::string& s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = utf8_sequence(s, i, cp);
    if (cp == '"') out += "\\\"";
    else if (cp == '\\') out += "\\\\";
    else if (cp == '\n') out += "\\n";
    else if (cp == '\t') out += "\\t";
    else if (cp == '\r') out += "\\r";
    else if (needs_escape(cp)) out += hex4(cp);
    else out.append(s, i, len);
    i += len;
  }
  return out + "\"";
}

std::string quoted_string(const std::string& s) { return can_be_plain(s) ? s : double_quoted(s); }

std::string float_text(const nlohmann::json& v) {
  std::string t = v.dump();
  if (t.find('.') == std::string::npos) {
    const auto e = t.find_first_of("eE");
    if (e == std::string::npos) t += ".0";
    else t.insert(e, ".0");
  }
  return t;
}

bool is_inline(const nlohmann::json& v) { return !v.is_structured() || v.empty(); }

using lines = std::vector<std::string>;

lines block(const nlohmann::json& v);

void append_prefixed(lines& out, const lines& child, const std::string& first, const std::string& rest) {
  for (std::size_t i = 0; i < child.size(); ++i) out.push_back((i == 0 ? first : rest) + child[i]);
}

lines object_block(const nlohmann::json& v) {
  lines out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string key = quoted_string(it.key());
    const bool explicit_key = key.size() > max_implicit_key;
    std::string head = explicit_key ? "? " + key : key;
    if (explicit_key) {
      out.push_back(head);
      head = "";
    }
    const nlohmann::json& value = it.value();
    if (is_inline(value)) {
      out.push_back(head + ": " + block(value).front());
      continue;
    }
    out.push_back(head + ":");
    append_prefixed(out, block(value), value.is_object() ? "  " : "", value.is_object() ? "  " : "");
  }
  return out;
}

lines array_block(const nlohmann::json& v) {
  lines out;
  for (const auto& item : v) append_prefixed(out, block(item), "- ", "  ");
  return out;
}

lines block(const nlohmann::json& v) {
  if (v.is_object()) return v.empty() ? lines{"{}"} : object_block(v);
  if (v.is_array()) return v.empty() ? lines{"[]"} : array_block(v);
  return {yaml_scalar(v)};
}

}  // namespace

std::string yaml_scalar(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) return float_text(v);
  if (v.is_number()) return v.dump();
  if (v.is_string()) return quoted_string(v.get<std::string>());
  return v.dump();  // structured values are not scalars; callers do not pass them
}

std::string to_yaml(const nlohmann::json& value) {
  std::string out;
  for (const auto& line : block(value)) out += line + "\n";
  return out;
}

}  // namespace credbroker::cli
