// libFuzzer target: JSON parameters decoded into typed fields (api/fields.hpp), as every route's
// body and query string are. The input is a JSON document; convert_field runs on the document and
// on each member for every field type, and field_data::make on it with one field of each type.
// Invariants checked: no crash, no hang, no sanitizer report; a conversion yields its type's shape
// (string, integer, boolean, whole seconds >= 0, arrays of trimmed strings with no empty item for
// comma slices, objects, objects of strings) and converting its result again changes nothing;
// field_data provides exactly the non-null declared members, reports every undeclared key as
// unknown, answers get_* with the converted value (or the default), and a failure names the field
// in Vault's "Field validation failed" text.
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/fields.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/fields.hpp"
#include "fuzz/fuzz_targets.hpp"

namespace {

using credbroker::api::field_spec;
using credbroker::api::field_type;
using nlohmann::json;

constexpr field_type all_types[] = {field_type::string,       field_type::integer,     field_type::boolean,
                                    field_type::duration,     field_type::string_slice, field_type::comma_slice,
                                    field_type::map,          field_type::kv_pairs};

bool trimmed(const std::string& s) {
  constexpr std::string_view ws = " \t\r\n";
  return s.empty() || (ws.find(s.front()) == std::string_view::npos && ws.find(s.back()) == std::string_view::npos);
}

bool has_shape(field_type t, const json& v) {
  switch (t) {
    case field_type::string: return v.is_string();
    case field_type::integer: return v.is_number_integer();
    case field_type::boolean: return v.is_boolean();
    case field_type::duration: return v.is_number_integer() && v.get<std::int64_t>() >= 0;
    case field_type::string_slice:
    case field_type::comma_slice:
      if (!v.is_array()) return false;
      for (const auto& item : v) {
        if (!item.is_string() || !trimmed(item.get<std::string>())) return false;
        if (t == field_type::comma_slice && item.get<std::string>().empty()) return false;
      }
      return true;
    case field_type::map: return v.is_object();
    case field_type::kv_pairs:
      if (!v.is_object()) return false;
      for (const auto& [_, item] : v.items()) {
        if (!item.is_string()) return false;
      }
      return true;
  }
  return false;
}

void check_conversion(field_type t, const json& v) {
  auto once = credbroker::api::convert_field(t, v);
  if (!once) {
    if (once.err().message.empty()) std::abort();
    return;
  }
  if (!has_shape(t, *once)) std::abort();
  auto twice = credbroker::api::convert_field(t, *once);
  if (!twice || *twice != *once) std::abort();
  (void)once->dump(-1, ' ', false, json::error_handler_t::replace);
}

const std::vector<field_spec>& specs() {
  static const std::vector<field_spec> s = {
      {"s", field_type::string, "dflt"}, {"i", field_type::integer},     {"b", field_type::boolean},
      {"d", field_type::duration, "1h"}, {"ss", field_type::string_slice}, {"cs", field_type::comma_slice},
      {"m", field_type::map},            {"kv", field_type::kv_pairs}};
  return s;
}

void check_field_data(const json& doc) {
  auto fd = credbroker::api::field_data::make(specs(), doc);
  if (!fd) {
    if (fd.err().message.rfind("Field validation failed: error converting input for field \"", 0) != 0) std::abort();
    return;
  }
  for (const auto& spec : specs()) {
    const bool given = doc.is_object() && doc.contains(spec.name) && !doc.at(spec.name).is_null();
    if (fd->provided(spec.name) != given) std::abort();
    const auto value = fd->get_json(spec.name);
    if (given) {
      auto expect = credbroker::api::convert_field(spec.type, doc.at(spec.name));
      if (!expect || !value || *value != *expect) std::abort();
    } else if (spec.default_value.is_null() ? value.has_value() : !value.has_value()) {
      std::abort();
    }
  }
  if (auto d = fd->get_duration("d"); !d || d->count() < 0) std::abort();
  if (!fd->get_string("s")) std::abort();
  std::size_t undeclared = 0;
  if (doc.is_object()) {
    for (const auto& [key, _] : doc.items()) {
      bool declared = false;
      for (const auto& spec : specs()) declared = declared || spec.name == key;
      if (!declared) ++undeclared;
    }
  }
  if (fd->unknown().size() != undeclared) std::abort();
}

}  // namespace

int credbroker::fuzz::fuzz_fields_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return 0;
  for (const field_type t : all_types) {
    check_conversion(t, doc);
    if (doc.is_structured()) {
      for (const auto& item : doc) check_conversion(t, item);
    }
  }
  check_field_data(doc);
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_fields_one(data, size);
}
#endif
