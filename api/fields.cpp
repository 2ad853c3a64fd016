#include "api/fields.hpp"

#include <cmath>

#include "api/wire.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

error bad(std::string what) { return make_error(errc::invalid_request, std::move(what)); }

result<std::string> as_string(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "1" : "0");
  return bad(std::string("expected a string, got ") + v.type_name());
}

}  // namespace

result<nlohmann::json> convert_field(field_type type, const nlohmann::json& v) {
  switch (type) {
    case field_type::string: {
      auto s = as_string(v);
      if (!s) return std::move(s).err();
      return nlohmann::json(*s);
    }
    case field_type::integer: {
      if (v.is_number_integer()) return nlohmann::json(v.get<std::int64_t>());
      if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::trunc(d) != d || std::fabs(d) > 9.0e15) return bad("expected an integer, got " + v.dump());
        return nlohmann::json(static_cast<std::int64_t>(d));
      }
      if (v.is_boolean()) return nlohmann::json(v.get<bool>() ? 1 : 0);
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (s.empty()) return nlohmann::json(0);
        try {
          std::size_t used = 0;
          const long long n = std::stoll(s, &used, 10);
          if (used == s.size()) return nlohmann::json(static_cast<std::int64_t>(n));
        } catch (const std::exception&) {
        }
        return bad("strconv.ParseInt: parsing \"" + s + "\": invalid syntax");
      }
      return bad(std::string("expected an integer, got ") + v.type_name());
    }
    case field_type::boolean: {
      if (v.is_boolean()) return v;
      if (v.is_number()) return nlohmann::json(v.get<double>() != 0);
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (s.empty()) return nlohmann::json(false);
        if (auto b = parse_go_bool(s)) return nlohmann::json(*b);
        return bad("strconv.ParseBool: parsing \"" + s + "\": invalid syntax");
      }
      return bad(std::string("expected a boolean, got ") + v.type_name());
    }
    case field_type::duration: {
      auto d = parse_duration_value(v);
      if (!d) return std::move(d).err();
      return nlohmann::json(d->count());
    }
    case field_type::string_slice:
    case field_type::comma_slice: {
      nlohmann::json out = nlohmann::json::array();
      auto push = [&](std::string item) {
        item = trim(item);
        if (type == field_type::comma_slice && item.empty()) return;
        out.push_back(std::move(item));
      };
      if (v.is_array()) {
        for (const auto& item : v) {
          auto s = as_string(item);
          if (!s) return std::move(s).err();
          push(*s);
        }
        return out;
      }
      auto s = as_string(v);
      if (!s) return std::move(s).err();
      if (s->empty()) return out;
      if (type == field_type::string_slice) {
        push(*s);
        return out;
      }
      std::string_view rest = *s;
      for (;;) {
        const auto comma = rest.find(',');
        push(std::string(rest.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return out;
    }
    case field_type::map:
      if (v.is_object()) return v;
      return bad(std::string("expected a map, got ") + v.type_name());
    case field_type::kv_pairs: {
      nlohmann::json out = nlohmann::json::object();
      if (v.is_object()) {
        for (const auto& [k, item] : v.items()) {
          auto s = as_string(item);
          if (!s) return std::move(s).err();
          out[k] = *s;
        }
        return out;
      }
      // Vault's TypeKVPairs also takes "k=v" strings, alone or in a list (the CLI's -f k=v form).
      auto pair = [&](const std::string& item) -> status {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0) return bad("invalid key value pair \"" + item + "\"");
        out[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
        return ok_v;
      };
      if (v.is_string()) {
        if (v.get_ref<const std::string&>().empty()) return out;
        if (auto s = pair(v.get<std::string>()); !s) return std::move(s).err();
        return out;
      }
      if (v.is_array()) {
        for (const auto& item : v) {
          if (!item.is_string()) return bad(std::string("expected \"key=value\" strings, got ") + item.type_name());
          if (auto s = pair(item.get<std::string>()); !s) return std::move(s).err();
        }
        return out;
      }
      return bad(std::string("expected a map of strings, got ") + v.type_name());
    }
  }
  return bad("unknown field type");
}

result<std::optional<std::chrono::seconds>> parse_tune_ttl(const nlohmann::json& v) {
  using keep = std::optional<std::chrono::seconds>;
  if (v.is_null()) return keep();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) return keep();
    if (s == "system") return keep(std::chrono::seconds(0));
  }
  auto d = parse_duration_value(v);
  if (!d) return std::move(d).err();
  return keep(*d);
}

result<field_data> field_data::make(const std::vector<field_spec>& specs, const nlohmann::json& raw) {
  field_data fd;
  fd.raw_ = raw.is_object() ? raw : nlohmann::json::object();
  for (const auto& spec : specs) {
    if (!spec.default_value.is_null()) fd.defaults_[spec.name] = spec.default_value;
    auto it = fd.raw_.find(spec.name);
    if (it == fd.raw_.end() || it->is_null()) continue;
    auto converted = convert_field(spec.type, *it);
    if (!converted) {
      return make_error(errc::invalid_request, "Field validation failed: error converting input for field \"" +
                                                   spec.name + "\": " + converted.err().message);
    }
    fd.values_[spec.name] = std::move(*converted);
  }
  for (const auto& [key, _] : fd.raw_.items()) {
    bool known = false;
    for (const auto& spec : specs) known = known || spec.name == key;
    if (!known) fd.unknown_.push_back(key);
  }
  return fd;
}

const nlohmann::json* field_data::lookup(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return &*it;
  if (auto it = defaults_.find(name); it != defaults_.end()) return &*it;
  return nullptr;
}

std::optional<std::string> field_data::get_string(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<std::int64_t> field_data::get_int(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

std::optional<bool> field_data::get_bool(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

std::optional<std::chrono::seconds> field_data::get_duration(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return std::chrono::seconds{v->get<std::int64_t>()};
  auto d = parse_duration_value(*v);  // a default written as "1h"
  if (!d) return std::nullopt;
  return *d;
}

std::optional<std::vector<std::string>> field_data::get_strings(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr || !v->is_array()) return std::nullopt;
  return v->get<std::vector<std::string>>();
}

std::optional<nlohmann::json> field_data::get_json(const std::string& name) const {
  const auto* v = lookup(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

}  // namespace credbroker::api
