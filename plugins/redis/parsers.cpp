#include "plugins/redis/parsers.hpp"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "broker/core/encoding.hpp"

namespace credbroker::plugins::redis {
namespace {
constexpr const char* rules_error = "error unmarshalling REDIS rules in the creation statement JSON: ";

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}
}  // namespace

std::string acl_password(std::string_view password) { return "#" + sha256_hex(password); }
std::string acl_password_removal(std::string_view password) { return "!" + sha256_hex(password); }

result<std::vector<std::string>> parse_acl_rules(const std::vector<std::string>& statements) {
  if (statements.empty() || statements.front().empty()) return std::vector<std::string>{"~*", "+@read"};
  nlohmann::json rules;
  try {
    rules = nlohmann::json::parse(statements.front());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    return make_error(errc::invalid_request, std::string(rules_error) + e.what());
  }
  if (!rules.is_array()) return make_error(errc::invalid_request, std::string(rules_error) + "expected an array of strings");
  std::vector<std::string> out;
  out.reserve(rules.size());
  for (const auto& r : rules) {
    if (!r.is_string()) return make_error(errc::invalid_request, std::string(rules_error) + "expected an array of strings");
    out.push_back(r.get<std::string>());
  }
  return out;
}

std::vector<std::string> client_ids_named(std::string_view list, std::string_view name) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto nl = list.find('\n');
    std::string_view line = list.substr(0, nl);
    list = nl == std::string_view::npos ? std::string_view() : list.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view id;
    bool named = false;
    while (!line.empty()) {
      const auto sp = line.find(' ');
      const std::string_view field = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
      if (field.substr(0, 3) == "id=") id = field.substr(3);
      else if (field.substr(0, 5) == "name=") named = field.substr(5) == name;
    }
    const bool digits = !id.empty() && id.find_first_not_of("0123456789") == std::string_view::npos;
    if (named && digits) out.emplace_back(id);
  }
  return out;
}

}  // namespace credbroker::plugins::redis
