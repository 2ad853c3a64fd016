#include "broker/plugin/sanitize.hpp"

namespace credbroker::plugin {
namespace {

void replace_all(std::string& text, const std::string& needle, std::string_view with) {
  if (needle.empty()) return;
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + with.size())) {
    text.replace(pos, needle.size(), with);
  }
}

}  // namespace

std::string percent_encode(std::string_view raw) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0x0f]);
    }
  }
  return out;
}

std::string sanitize(std::string text, const std::vector<const secret*>& secrets) {
  for (const secret* s : secrets) {
    if (s == nullptr || s->empty()) continue;
    replace_all(text, s->reveal(), "[password]");
    replace_all(text, percent_encode(s->reveal()), "[password]");
  }
  return text;
}

}  // namespace credbroker::plugin
