#pragma once
// Typed request parameters, as Vault's framework.FieldData.
//
// A route declares its fields; field_data::make converts the raw JSON once, up front:
//   string        "x" (numbers and bools are printed: 5 -> "5")
//   integer       5, "5", 5.0
//   boolean       true, "true"/"1"/"t"... (Go's ParseBool), non-zero numbers
//   duration      3600, "3600", "1h", "90s", "7d"  -> whole seconds, negative refused
//   string_slice  ["a","b"], "a" -> ["a"], "" -> []           (items trimmed)
//   comma_slice   ["a","b"], "a, b" -> ["a","b"]              (items trimmed, empties dropped)
//   map           {"k": any}
//   kv_pairs      {"k": "v"}, "k=v", ["k=v", "k2=v2"]           (Vault's TypeKVPairs; values strings)
// JSON null means "not provided" for every type. A conversion failure is a 400:
//   Field validation failed: error converting input for field "ttl": time: invalid duration "x"
// Keys that no field declares are collected in unknown() (the router turns them into Vault's
// "Endpoint ignored these unrecognized parameters" warning).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"

namespace credbroker::api {

enum class field_type { string, integer, boolean, duration, string_slice, comma_slice, map, kv_pairs };

struct field_spec {
  std::string name;
  field_type type = field_type::string;
  nlohmann::json default_value = nullptr;  // used by get_* when the field was not provided
};

class field_data {
 public:
  static result<field_data> make(const std::vector<field_spec>& specs, const nlohmann::json& raw);

  // True when the caller sent the field with a non-null value.
  bool provided(const std::string& name) const { return values_.contains(name); }

  std::optional<std::string> get_string(const std::string& name) const;
  std::optional<std::int64_t> get_int(const std::string& name) const;
  std::optional<bool> get_bool(const std::string& name) const;
  std::optional<std::chrono::seconds> get_duration(const std::string& name) const;
  std::optional<std::vector<std::string>> get_strings(const std::string& name) const;
  std::optional<nlohmann::json> get_json(const std::string& name) const;

  const std::vector<std::string>& unknown() const { return unknown_; }
  const nlohmann::json& raw() const { return raw_; }

 private:
  const nlohmann::json* lookup(const std::string& name) const;
  nlohmann::json values_ = nlohmann::json::object();    // converted, provided fields only
  nlohmann::json defaults_ = nlohmann::json::object();  // declared defaults
  nlohmann::json raw_ = nlohmann::json::object();
  std::vector<std::string> unknown_;
};

// The conversion of one value (exposed for tests and for handlers with dynamic fields).
result<nlohmann::json> convert_field(field_type type, const nlohmann::json& value);

// A TTL of sys/mounts/:path/tune and sys/auth/:path/tune, as Vault reads it: null or "" keeps the
// current value (nullopt), "system" resets it to the server's default (0), anything else is a
// duration ("1h", "3600", 3600). The vault CLI sends both TTLs on every tune, "" for the one not given.
result<std::optional<std::chrono::seconds>> parse_tune_ttl(const nlohmann::json& value);

}  // namespace credbroker::api
