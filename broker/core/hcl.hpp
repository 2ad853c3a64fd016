#pragma once
// hcl: the subset of HashiCorp's HCL (version 1) that Vault policies and password policies use,
// parsed by hand (Debian has no HCL library), plus the JSON form Vault accepts for the same documents.
//
// Grammar (HCL):
//   body    := item*                          items separated by newlines and/or ',' (none needed after a block)
//   item    := key label* ( '=' value | '=' object | object )
//   key     := identifier | string            identifier: [A-Za-z_][A-Za-z0-9_.-]*
//   label   := string
//   value   := string | number | true | false | list | object
//   list    := '[' ( value ( ',' value )* ','? )? ']'      newlines allowed anywhere inside
//   object  := '{' body '}'
//   string  := '"' chars '"'   escapes \" \\ \/ \n \t \r \uXXXX; no raw newline inside
//   comment := '#' ... | '//' ... (to end of line) | '/*' ... '*/'
//
// Labels are folded into nested objects, so both spellings of a document give the same tree:
//   path "secret/*" { capabilities = ["read"] }
//   {"path": {"secret/*": {"capabilities": ["read"]}}}
// each becomes   item{key "path", object{ item{key "secret/*", object{ item{key "capabilities", list} }} }}
//
// Errors name the line and column (1-based) and what was expected, e.g.
//   line 2, column 31: expected ',' or ']' in a list, found '}'
// JSON input (first non-blank character '{') is parsed with nlohmann::json; its errors carry the
// byte offset nlohmann reports. Invariant: parse() never throws and never reads past the input.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::hcl {

struct position {
  int line = 0;  // 0 when unknown (JSON input)
  int column = 0;
};
std::string describe(const position& p);  // "line 3, column 7: " or "" when unknown

struct item;

struct value {
  enum class kind { string, number, boolean, list, object };
  kind k = kind::string;
  std::string str;         // string; for numbers, the literal as written
  double number = 0;
  bool boolean = false;
  std::vector<value> list;
  std::vector<item> object;
  position pos;
  const char* kind_name() const;
};

struct item {
  std::string key;
  value v;
  position pos;  // of the key
};

struct document {
  std::vector<item> items;  // the top-level body
};

// Parses HCL or (when the text starts with '{') JSON. Nesting is limited to 64 levels.
result<document> parse(std::string_view text);

}  // namespace credbroker::hcl
