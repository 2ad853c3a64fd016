#include "broker/audit/json_text.hpp"

#include <charconv>

namespace credbroker::audit {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The escaped form of an ASCII string; false (out unchanged past `from`) at the first non-ASCII byte.
bool append_ascii(std::string& out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) return false;
    if (c >= 0x20 && c != '"' && c != '\\') {
      out += ch;
      continue;
    }
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\f': out += 'f'; break;
      case '\n': out += 'n'; break;
      case '\r': out += 'r'; break;
      case '\t': out += 't'; break;
      default:
        out += "u00";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 15];
    }
  }
  return true;
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  const std::size_t start = out.size();
  out += '"';
  if (append_ascii(out, s)) {
    out += '"';
    return;
  }
  out.resize(start);
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_json(std::string& out, const nlohmann::json& v) {
  using t = nlohmann::json::value_t;
  switch (v.type()) {
    case t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        append_quoted(out, it.key());
        out += ':';
        append_json(out, it.value());
      }
      out += '}';
      return;
    }
    case t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        append_json(out, e);
      }
      out += ']';
      return;
    }
    case t::string: append_quoted(out, v.get_ref<const std::string&>()); return;
    case t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case t::number_integer: append_number(out, v.get<std::int64_t>()); return;
    case t::number_unsigned: append_number(out, v.get<std::uint64_t>()); return;
    default: out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); return;
  }
}

}  // namespace credbroker::audit
