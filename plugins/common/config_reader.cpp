#include "plugins/common/config_reader.hpp"

#include <optional>

#include "broker/core/duration.hpp"

namespace credbroker::plugins::common {
namespace {

// A JSON integer, or a string that is wholly a decimal integer (std::stoll's reading).
std::optional<std::int64_t> integer_of(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (!v.is_string()) return std::nullopt;
  const auto& text = v.get_ref<const std::string&>();
  try {
    std::size_t used = 0;
    const auto n = std::stoll(text, &used);
    if (used == text.size()) return n;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

result<std::string> optional_string(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::string();
  if (!it->is_string()) return make_error(errc::invalid_request, std::string(key) + " must be a string");
  return it->get<std::string>();
}

result<std::string> required_string(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) {
    return make_error(errc::invalid_request, std::string(key) + " cannot be empty");
  }
  if (!it->is_string()) return make_error(errc::invalid_request, std::string(key) + " must be a string");
  return it->get<std::string>();
}

result<std::int64_t> integer(const nlohmann::json& cfg, const char* key, std::int64_t dflt) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return dflt;
  if (auto v = integer_of(*it)) return *v;
  return make_error(errc::invalid_request, std::string(key) + " must be an integer");
}

result<std::int64_t> integer_in(const nlohmann::json& cfg, const char* key, std::int64_t dflt, std::int64_t min,
                                std::int64_t max) {
  auto v = integer(cfg, key, dflt);
  if (!v) return v;
  if (*v < min || *v > max) {
    return make_error(errc::invalid_request,
                      std::string(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

result<int> port(const nlohmann::json& value, const std::string& what) {
  const auto v = integer_of(value);
  if (!v) return make_error(errc::invalid_request, what + " must be an integer");
  if (*v < 1 || *v > 65535) return make_error(errc::invalid_request, what + " must be between 1 and 65535");
  return static_cast<int>(*v);
}

bool flag(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    return s == "true" || s == "1" || s == "True" || s == "TRUE" || s == "t";
  }
  return false;
}

result<std::chrono::seconds> duration(const nlohmann::json& cfg, const char* key, std::chrono::seconds dflt) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return dflt;
  auto d = parse_duration_value(*it);
  if (!d) return make_error(errc::invalid_request, "invalid " + std::string(key) + ": " + d.err().message);
  return *d;
}

}  // namespace credbroker::plugins::common
