#pragma once
// Test helper: every key/value of `expected` appears in `actual` (recursively for objects;
// arrays and scalars compare whole).
#include <nlohmann/json.hpp>
#include <string>

namespace credbroker::test {

inline bool json_contains(const nlohmann::json& actual, const nlohmann::json& expected, std::string* why) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      if (why) *why = "expected an object, got " + actual.dump();
      return false;
    }
    for (const auto& [k, v] : expected.items()) {
      auto it = actual.find(k);
      if (it == actual.end()) {
        if (why) *why = "missing key \"" + k + "\" in " + actual.dump();
        return false;
      }
      if (!json_contains(*it, v, why)) return false;
    }
    return true;
  }
  if (actual != expected) {
    if (why) *why = "expected " + expected.dump() + ", got " + actual.dump();
    return false;
  }
  return true;
}

}  // namespace credbroker::test
