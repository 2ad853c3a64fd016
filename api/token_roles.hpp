#pragma once
// Token roles on the token auth method (vault-api.md §4.4; broker/auth/token_roles.hpp):
//   LIST   auth/token/roles                      role names
//   GET    auth/token/roles/:role_name           the role, in Vault's read form
//   POST   auth/token/roles/:role_name           create or update (fields not sent keep their value)
//   DELETE auth/token/roles/:role_name
//   POST   auth/token/create/:role_name          a token bounded by the role
// Creating against a role needs only `update` on auth/token/create/<role>: the role's orphan and
// period apply without sudo (a period or id in the request still needs it, as in Vault).
#include <optional>
#include <vector>

#include "api/router.hpp"
#include "broker/auth/token_store.hpp"

namespace credbroker::api {

// The fields of auth/token/create, create-orphan and create/:role (auth_token.cpp).
extern const std::vector<field_spec> token_create_fields;
// Reads those fields into r; a reply when the request is refused (an unsupported type, ...).
std::optional<reply> read_token_request(const field_data& fd, bool orphan, auth::token_request& r);
// A created (or renewed) token as Vault's auth block, its warnings carried.
reply issued(result<auth::issued_token> t, bool with_token);

// Appends the routes above to the token mount's.
void add_token_role_routes(std::vector<route>& routes, auth::token_store& tokens);

}  // namespace credbroker::api
