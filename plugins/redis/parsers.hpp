#pragma once
// What the Redis plugin parses, as pure functions (no I/O; fuzzed by fuzz/redis_acl_rules_fuzz.cpp).
//
// parse_acl_rules: a role's creation_statements as Vault's Redis plugin reads them: the first
// statement is a JSON array of ACL rules, each passed to ACL SETUSER as one argument (binary-safe:
// nothing to quote). No statement, or an empty first one: the default ["~*", "+@read"].
//   ["~cache:*", "+@read", "-keys"]  ->  {"~cache:*", "+@read", "-keys"}
//   {"a": 1}                         ->  invalid_request "error unmarshalling REDIS rules in the
//                                        creation statement JSON: expected an array of strings"
//
// client_ids_named: the ids of the clients in a CLIENT LIST reply whose name is exactly `name`
// (one client per line, space-separated key=value fields; a name cannot contain spaces).
//   "id=7 addr=127.0.0.1:5 name=credbroker:k3J9 age=1\nid=8 addr=... name= age=2\n", "credbroker:k3J9"
//   -> {"7"}
//
// acl_password / acl_password_removal: the ACL SETUSER rules that add / remove a password by its
// SHA-256 (Redis stores only that hash; a '#' or '!' rule is the same as '>' or '<' without the
// password ever crossing the wire, MONITOR or SLOWLOG):
//   acl_password("pencil")          -> "#13809668fb436386706f67dcb052ed584a04ba16a8c02a17d66d34c30fceda21"
//   acl_password_removal("pencil")  -> "!" and the same 64 lowercase hex digits
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::plugins::redis {

result<std::vector<std::string>> parse_acl_rules(const std::vector<std::string>& creation_statements);

std::string acl_password(std::string_view password);
std::string acl_password_removal(std::string_view password);

std::vector<std::string> client_ids_named(std::string_view client_list, std::string_view name);

}  // namespace credbroker::plugins::redis
