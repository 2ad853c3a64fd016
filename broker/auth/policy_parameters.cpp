#include "broker/auth/policy_parameters.hpp"

#include <algorithm>
#include <cctype>

namespace credbroker::auth {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

error bad(const hcl::position& p, std::string message) {
  return make_error(errc::invalid_request, hcl::describe(p) + message);
}

nlohmann::json to_json(const hcl::value& v) {
  switch (v.k) {
    case hcl::value::kind::string: return v.str;
    case hcl::value::kind::boolean: return v.boolean;
    case hcl::value::kind::number: {
      const bool integral = v.str.find_first_of(".eE") == std::string::npos;
      if (integral) {
        try {
          return std::stoll(v.str, nullptr, 0);
        } catch (const std::exception&) {
          // too large for an integer: keep the double
        }
      }
      return v.number;
    }
    case hcl::value::kind::list: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : v.list) a.push_back(to_json(e));
      return a;
    }
    case hcl::value::kind::object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& it : v.object) o[it.key] = to_json(it.v);
      return o;
    }
  }
  return nullptr;
}

// Vault's strutil.GlobbedStringsMatch: a leading and/or trailing '*' on a pattern of two or more
// characters; anything else is an exact comparison.
bool globbed_match(const std::string& pattern, const std::string& value) {
  if (pattern.size() < 2) return pattern == value;
  const bool head = pattern.front() == '*';
  const bool tail = pattern.back() == '*';
  if (head && tail) return value.find(pattern.substr(1, pattern.size() - 2)) != std::string::npos;
  if (head) return value.size() >= pattern.size() - 1 && value.compare(value.size() - (pattern.size() - 1), std::string::npos, pattern, 1) == 0;
  if (tail) return value.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == value;
}

bool in_list(const nlohmann::json& v, const std::vector<nlohmann::json>& list) {
  for (const auto& el : list) {
    if (el.is_string() && v.is_string()) {
      if (globbed_match(el.get_ref<const std::string&>(), v.get_ref<const std::string&>())) return true;
    } else if (el == v) {
      return true;
    }
  }
  return false;
}

// Vault's parseutil.ParseCommaStringSlice on a string: split at ',', each item trimmed; "" is no items.
std::vector<nlohmann::json> comma_items(const std::string& s) {
  std::vector<nlohmann::json> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = item.find_first_not_of(" \t\r\n");
    const auto e = item.find_last_not_of(" \t\r\n");
    out.emplace_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The elements a value stands for beyond itself: a list's elements, a string's comma items.
std::vector<nlohmann::json> elements(const nlohmann::json& v) {
  if (v.is_array()) return std::vector<nlohmann::json>(v.begin(), v.end());
  if (v.is_string()) return comma_items(v.get_ref<const std::string&>());
  return {};
}

bool value_allowed(const nlohmann::json& v, const std::vector<nlohmann::json>& list) {
  if (list.empty() || in_list(v, list)) return true;
  if (!v.is_array() && !v.is_string()) return false;
  const auto items = elements(v);
  return std::all_of(items.begin(), items.end(), [&](const nlohmann::json& e) { return in_list(e, list); });
}

bool value_denied(const nlohmann::json& v, const std::vector<nlohmann::json>& list) {
  if (list.empty() || in_list(v, list)) return true;
  const auto items = elements(v);
  return std::any_of(items.begin(), items.end(), [&](const nlohmann::json& e) { return in_list(e, list); });
}

void merge_map(std::map<std::string, std::vector<nlohmann::json>>& into,
               const std::map<std::string, std::vector<nlohmann::json>>& more) {
  for (const auto& [key, values] : more) {
    auto it = into.find(key);
    if (it == into.end()) {
      into.emplace(key, values);
    } else if (values.empty() || it->second.empty()) {
      it->second.clear();
    } else {
      std::vector<nlohmann::json> joined = values;
      joined.insert(joined.end(), it->second.begin(), it->second.end());
      it->second = std::move(joined);
    }
  }
}

}  // namespace

void parameter_rules::merge(const parameter_rules& more) {
  merge_map(allowed, more.allowed);
  merge_map(denied, more.denied);
  for (const auto& r : more.required) {
    if (std::find(required.begin(), required.end(), r) == required.end()) required.push_back(r);
  }
}

bool parameter_rules::allow(const nlohmann::json& data) const {
  const bool has_data = data.is_object() && !data.empty();
  for (const auto& r : required) {
    if (!has_data || !data.contains(lower(r))) return false;
  }
  if (!has_data) return true;
  if (!denied.empty()) {
    if (denied.count("*") != 0) return false;
    for (const auto& [name, value] : data.items()) {
      const auto it = denied.find(lower(name));
      if (it != denied.end() && value_denied(value, it->second)) return false;
    }
  }
  if (allowed.empty()) return true;
  const bool all = allowed.count("*") != 0;
  if (all && allowed.size() == 1) return true;
  for (const auto& [name, value] : data.items()) {
    const auto it = allowed.find(lower(name));
    if (it == allowed.end()) {
      if (!all) return false;
      continue;
    }
    if (!value_allowed(value, it->second)) return false;
  }
  return true;
}

status parse_parameter_map(const hcl::value& v, const std::string& key, const std::string& path,
                           std::map<std::string, std::vector<nlohmann::json>>& out) {
  if (v.k != hcl::value::kind::object) {
    return bad(v.pos, key + " for path \"" + path + "\" must be a map of parameter names to lists of values, found " +
                          v.kind_name());
  }
  for (const auto& it : v.object) {
    std::vector<nlohmann::json> values;
    if (it.v.k == hcl::value::kind::list) {
      for (const auto& e : it.v.list) values.push_back(to_json(e));
    } else {
      values.push_back(to_json(it.v));
    }
    auto& slot = out[lower(it.key)];
    slot.insert(slot.end(), values.begin(), values.end());
  }
  return ok_v;
}

status parse_required_parameters(const hcl::value& v, const std::string& path, std::vector<std::string>& out) {
  auto one = [&](const hcl::value& e) -> status {
    if (e.k != hcl::value::kind::string) {
      return bad(e.pos, "required_parameters for path \"" + path + "\" must be strings, found " + e.kind_name());
    }
    if (std::find(out.begin(), out.end(), e.str) == out.end()) out.push_back(e.str);
    return ok_v;
  };
  if (v.k != hcl::value::kind::list) return one(v);
  for (const auto& e : v.list) {
    if (auto s = one(e); !s) return s;
  }
  return ok_v;
}

}  // namespace credbroker::auth
