#pragma once
// YAML for JSON values, as the vault CLI prints -format=yaml (block style, keys in sorted order,
// sequences under a key at the key's indentation, as go-yaml writes them):
//
//   {"data": {"password": "A1a-x", "ttl": 3600}, "policies": ["default"], "warnings": null}
//   ->  data:
//         password: A1a-x
//         ttl: 3600
//       policies:
//       - default
//       warnings: null
//
// Correctness over prettiness: a string is written plain only when no YAML 1.1 or 1.2 reader can
// take it for anything else (it starts with a letter, "_" or "/", holds only letters, digits, space
// and _-./@+=(); and no ": " or " #", does not end in a space, and is not a boolean or null word such
// as yes/No/ON/y/null in any case); every other string is double-quoted with escapes for '"', '\',
// control characters, DEL, C1 controls, U+2028/2029, U+FEFF, U+FFFE/FFFF (raw UTF-8 otherwise).
// Floats always carry a "." so YAML 1.1 readers see a float ("1e+20" -> "1.0e+20"). Keys longer than
// 1000 bytes use the explicit "? key" form (implicit keys are limited to 1024 characters).
// Empty objects and arrays are "{}" and "[]". The result ends in "\n".
//
// Round trip: yaml.safe_load(to_yaml(v)) == v for every JSON value v (tests/integration/cli/
// yaml_roundtrip_test.py checks it with PyYAML on generated values; tests/unit/cli/yaml_test.cpp
// pins the quoting table).
//
// Thread: pure function.
#include <string>

#include <nlohmann/json.hpp>

namespace credbroker::cli {

std::string to_yaml(const nlohmann::json& value);

// One scalar as YAML writes it (the quoting above); exposed for the table tests.
std::string yaml_scalar(const nlohmann::json& scalar);

}  // namespace credbroker::cli
