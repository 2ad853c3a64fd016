#include "cli/output.hpp"

#include <algorithm>
#include <vector>

#include "cli/table.hpp"
#include "cli/yaml.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The value of key in an object, or null.
const json& member(const json& obj, const char* key) {
  static const json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

std::string cell(const std::string& key, const json& v) {
  if (looks_like_duration(key) && v.is_number_integer()) return human_duration(v.get<std::int64_t>());
  return value_text(v);
}

std::int64_t int_of(const json& v) { return v.is_number() ? v.get<std::int64_t>() : 0; }

void lease_rows(const json& s, std::vector<table_row>& rows) {
  const std::int64_t duration = int_of(member(s, "lease_duration"));
  if (duration <= 0) return;
  const json& id = member(s, "lease_id");
  if (id.is_string() && !id.get<std::string>().empty()) {
    rows.push_back({"lease_id", id.get<std::string>()});
    rows.push_back({"lease_duration", human_duration(duration)});
    rows.push_back({"lease_renewable", value_text(member(s, "renewable").is_null() ? json(false) : member(s, "renewable"))});
  } else {
    rows.push_back({"refresh_interval", human_duration(duration)});
  }
}

void auth_rows(const json& auth, std::vector<table_row>& rows) {
  if (!auth.is_object()) return;
  const std::int64_t duration = int_of(member(auth, "lease_duration"));
  rows.push_back({"token", value_text(member(auth, "client_token"))});
  rows.push_back({"token_accessor", value_text(member(auth, "accessor"))});
  rows.push_back({"token_duration", duration == 0 ? "∞" : human_duration(duration)});
  rows.push_back({"token_renewable", member(auth, "renewable").is_null() ? "false" : value_text(member(auth, "renewable"))});
  rows.push_back({"token_policies", quoted_list_text(member(auth, "token_policies"))});
  rows.push_back({"identity_policies", quoted_list_text(member(auth, "identity_policies"))});
  rows.push_back({"policies", quoted_list_text(member(auth, "policies"))});
  const json& meta = member(auth, "metadata");
  if (meta.is_object()) {
    for (auto it = meta.begin(); it != meta.end(); ++it) rows.push_back({"token_meta_" + it.key(), value_text(it.value())});
  }
}

void wrap_rows(const json& w, std::vector<table_row>& rows) {
  if (!w.is_object()) return;
  rows.push_back({"wrapping_token:", value_text(member(w, "token"))});
  rows.push_back({"wrapping_accessor:", value_text(member(w, "accessor"))});
  rows.push_back({"wrapping_token_ttl:", human_duration(int_of(member(w, "ttl")))});
  rows.push_back({"wrapping_token_creation_time:", value_text(member(w, "creation_time"))});
  rows.push_back({"wrapping_token_creation_path:", value_text(member(w, "creation_path"))});
  const json& wrapped = member(w, "wrapped_accessor");
  if (wrapped.is_string() && !wrapped.get<std::string>().empty()) rows.push_back({"wrapped_accessor:", wrapped.get<std::string>()});
}

std::vector<table_row> map_rows(const json& data) {
  std::vector<table_row> rows;
  if (!data.is_object()) return rows;
  for (auto it = data.begin(); it != data.end(); ++it) rows.push_back({it.key(), cell(it.key(), it.value())});
  return rows;
}

// The secret in the vault client's field order (Go's struct order; maps inside sorted).
nlohmann::ordered_json secret_object(const json& s) {
  auto sorted = [](const json& v) { return nlohmann::ordered_json::parse(v.dump()); };
  nlohmann::ordered_json out;
  out["request_id"] = member(s, "request_id").is_null() ? json("") : member(s, "request_id");
  out["lease_id"] = member(s, "lease_id").is_null() ? json("") : member(s, "lease_id");
  out["lease_duration"] = member(s, "lease_duration").is_null() ? json(0) : member(s, "lease_duration");
  out["renewable"] = member(s, "renewable").is_null() ? json(false) : member(s, "renewable");
  out["data"] = sorted(member(s, "data"));
  const json& warnings = member(s, "warnings");
  out["warnings"] = warnings.is_array() && warnings.empty() ? nlohmann::ordered_json(nullptr) : sorted(warnings);
  if (!member(s, "auth").is_null()) out["auth"] = sorted(member(s, "auth"));
  if (!member(s, "wrap_info").is_null()) out["wrap_info"] = sorted(member(s, "wrap_info"));
  const json& mount_type = member(s, "mount_type");
  if (mount_type.is_string() && !mount_type.get<std::string>().empty()) out["mount_type"] = mount_type;
  return out;
}

std::optional<json> auth_field(const json& auth, const json& data, const std::string& field) {
  static const std::vector<std::pair<std::string, const char*>> names = {
      {"token", "client_token"},         {"token_accessor", "accessor"},   {"token_duration", "lease_duration"},
      {"token_renewable", "renewable"},  {"token_policies", "token_policies"},
      {"identity_policies", "identity_policies"}, {"policies", "policies"}};
  for (const auto& [name, key] : names) {
    if (field == name) return member(auth, key);
  }
  return member(data, field.c_str());
}

std::optional<json> wrap_field(const json& wrap, const json& data, const std::string& field) {
  static const std::vector<std::pair<std::string, const char*>> names = {
      {"wrapping_token", "token"},      {"wrapping_accessor", "accessor"},
      {"wrapping_token_ttl", "ttl"},    {"wrapping_token_creation_time", "creation_time"},
      {"wrapping_token_creation_path", "creation_path"}, {"wrapped_accessor", "wrapped_accessor"}};
  for (const auto& [name, key] : names) {
    if (field == name) return member(wrap, key);
  }
  return member(data, field.c_str());
}

std::optional<json> plain_field(const json& s, const std::string& field) {
  const json& data = member(s, "data");
  if (field == "lease_duration" || field == "refresh_interval") return member(s, "lease_duration");
  if (field == "lease_id" || field == "request_id" || field == "renewable") return member(s, field.c_str());
  if (field == "data") return data.is_object() && data.contains("data") ? data["data"] : data;
  return member(data, field.c_str());
}

}  // namespace

result<output_format> parse_output_format(const std::string& name) {
  if (name == "table") return output_format::table;
  if (name == "json") return output_format::json;
  if (name == "yaml" || name == "yml") return output_format::yaml;
  return make_error(errc::invalid_request, "Invalid output format: " + name);
}

std::string value_text(const json& v) {
  if (v.is_null()) return "<nil>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + value_text(v[i]);
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "map[";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it, first = false) out += (first ? "" : " ") + it.key() + ":" + value_text(it.value());
    return out + "]";
  }
  return v.dump();
}

std::string quoted_list_text(const json& v) {
  if (!v.is_array()) return "[]";
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + (v[i].is_string() ? json(v[i]).dump() : v[i].dump());
  return out + "]";
}

std::string human_duration(std::int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string sign = seconds < 0 ? "-" : "";
  std::uint64_t s = seconds < 0 ? static_cast<std::uint64_t>(-(seconds + 1)) + 1 : static_cast<std::uint64_t>(seconds);
  const std::uint64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0) out += std::to_string(m) + "m";
  if (sec > 0 || out.empty()) out += std::to_string(sec) + "s";
  return sign + out;
}

bool looks_like_duration(const std::string& k) {
  return k == "period" || ends_with(k, "_period") || k == "ttl" || ends_with(k, "_ttl") || k == "duration" ||
         ends_with(k, "_duration") || k == "lease_max" || k == "ttl_max";
}

std::string secret_table(const json& secret) {
  std::vector<table_row> rows;
  lease_rows(secret, rows);
  auth_rows(member(secret, "auth"), rows);
  wrap_rows(member(secret, "wrap_info"), rows);
  const auto data = map_rows(member(secret, "data"));
  rows.insert(rows.end(), data.begin(), data.end());
  if (rows.empty()) return "";
  return table_output({"Key", "Value"}, rows);
}

std::string warnings_text(const json& secret) {
  const json& w = member(secret, "warnings");
  if (!w.is_array() || w.empty()) return "";
  std::string out = "WARNING! The following warnings were returned from Vault:\n\n";
  for (const auto& item : w) out += "  * " + value_text(item) + "\n\n";
  return out;
}

std::string json_text(const json& v) { return v.dump(2); }

std::string format_secret(const json& secret, output_format f) {
  switch (f) {
    case output_format::table: return secret_table(secret);
    case output_format::json: return secret_object(secret).dump(2);
    case output_format::yaml: return to_yaml(json::parse(secret_object(secret).dump()));
  }
  return "";
}

std::string format_data(const json& data, output_format f) {
  if (f == output_format::json) return json_text(data);
  if (f == output_format::yaml) return to_yaml(data);
  if (data.is_object()) return data.empty() ? "" : table_output({"Key", "Value"}, map_rows(data));
  if (data.is_array()) {
    std::string out;
    for (const auto& item : data) out += (out.empty() ? "" : "\n") + value_text(item);
    return out;
  }
  return value_text(data);
}

std::string format_keys(const json& keys, output_format f) {
  if (f != output_format::table) return format_data(keys, f);
  std::vector<std::string> sorted;
  for (const auto& k : keys) sorted.push_back(value_text(k));
  std::sort(sorted.begin(), sorted.end());
  std::vector<table_row> rows;
  for (const auto& k : sorted) rows.push_back({k});
  return table_output({"Keys"}, rows);
}

std::optional<json> raw_field(const json& secret, const std::string& field) {
  std::optional<json> v;
  if (!member(secret, "auth").is_null()) v = auth_field(member(secret, "auth"), member(secret, "data"), field);
  else if (!member(secret, "wrap_info").is_null()) v = wrap_field(member(secret, "wrap_info"), member(secret, "data"), field);
  else v = plain_field(secret, field);
  if (!v || v->is_null()) return std::nullopt;
  return v;
}

std::string format_field(const json& value, output_format f) {
  switch (f) {
    case output_format::table: return value_text(value);
    case output_format::json: return json_text(value);
    case output_format::yaml: return to_yaml(value);
  }
  return "";
}

}  // namespace credbroker::cli
