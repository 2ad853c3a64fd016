#pragma once
// username_template: the subset of Go's text/template that Vault's username_template uses, with
// Vault's functions (sdk/helper/template). Hand-written: there is no Debian library for it.
//
// Grammar:
//   template  := ( text | action )*
//   action    := "{{" ["-" ws] pipeline [ws "-"] "}}"          ("{{-" / "-}}" trim adjacent space)
//   pipeline  := command ( "|" command )*                      the value of each command is passed
//                                                              as the LAST argument of the next
//   command   := operand | identifier operand*
//   operand   := .DisplayName | .RoleName | "string" | `raw` | integer | "(" pipeline ")"
// Functions: random N, truncate N, truncate_sha256 N, uppercase, lowercase, replace OLD NEW, sha256,
//   base64, decode_base64, hex, decode_hex, unix_time, unix_time_millis, timestamp LAYOUT (Go layout),
//   uuid, printf FORMAT args... (%s %d %v %q %%), print args...
//
// Worked example (Vault's default for PostgreSQL), DisplayName "token-ci", RoleName "readonly-app":
//   {{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}
//   -> "v-token-ci-readonly-<20 random alphanumerics>-1763881745"
//
// Errors are precise and never contain metadata values: "template: column 12: unknown function
// \"uppercse\"", "template: truncate: length must be positive", "template: unclosed action".
// Invariant: render() never throws, and its output is bounded by 64 KiB.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "broker/core/result.hpp"

namespace credbroker::plugin {

struct template_data {
  std::string display_name;
  std::string role_name;
};

struct template_env {
  std::function<std::string(std::size_t)> random;          // default: random_alnum
  std::function<std::chrono::system_clock::time_point()> now;  // default: system clock
  std::function<std::string()> uuid;                       // default: random_uuid
};

result<std::string> render_template(std::string_view tmpl, const template_data& data, const template_env& env = {});

// The environment validate_template renders with: random N gives N x 'Q' (alphanumeric like the
// real generator, not hexadecimal), a fixed clock (2023-11-14T22:13:20Z) and a fixed uuid, so that
// validation never depends on chance. Example: `{{ random 4 | decode_hex }}` is refused every time
// ("QQQQ" is not hexadecimal, as real random alphanumerics almost never are), where rendering with
// real randomness would accept it on some calls and refuse it on others.
const template_env& validation_env();

// Checks syntax and function names by rendering once with empty data (as Vault does at config
// time) in validation_env().
status validate_template(std::string_view tmpl);

// Vault's default username template for PostgreSQL.
inline constexpr std::string_view default_postgres_username_template =
    R"({{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }})";

}  // namespace credbroker::plugin
