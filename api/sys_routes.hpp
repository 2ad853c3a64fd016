#pragma once
// The routes of the "sys/" mount, one file per resource. Each factory returns a route whose handlers
// hold references to the services they need; those must outlive the router.
#include "api/router.hpp"
#include "broker/auth/policy_store.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/barrier/barrier.hpp"
#include "broker/barrier/seal_manager.hpp"
#include "broker/core/node_status.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/mounts/auth_mounts.hpp"
#include "broker/mounts/secret_mounts.hpp"
#include "leases/lease_manager.hpp"

namespace credbroker::api {

route sys_health_route(const node_status& node);       // sys_health.cpp
route sys_seal_status_route(const node_status& node);  // sys_seal.cpp
route sys_init_route(const node_status& node);         // sys_seal.cpp
route sys_leader_route(const node_status& node);       // sys_seal.cpp
nlohmann::json seal_status_body(const seal_snapshot& s);

// The services behind init, unseal, seal and the keyring routes.
struct seal_services {
  barrier::seal_manager& seal;
  barrier::barrier& barrier;
  auth::token_store& tokens;
};
route sys_init_write_route(seal_services& s);  // sys_init.cpp
route sys_unseal_route(seal_services& s);
route sys_seal_route(seal_services& s);
route sys_rotate_route(seal_services& s);
route sys_key_status_route(seal_services& s);

// sys/generate-root/attempt|update (sys_generate_root.cpp) and sys/rekey/init|update|verify,
// sys/rekey-recovery-key/* (sys_rekey.cpp): unauthenticated, as Vault serves them (a lost root
// token is what generate-root recovers from); answered while sealed with Vault's 503.
std::vector<route> sys_generate_root_routes(seal_services& s);
std::vector<route> sys_rekey_routes(seal_services& s);

// The JSON body of those endpoints read as Go's encoding/json reads it into their request structs
// (sys_operator.cpp): a key matches a field name case-insensitively (the Go client sends
// "Backup"), an absent or null field is the zero value, a value of another JSON type is an error
// ("json: cannot unmarshal string into Go struct field .secret_shares of type int").
class struct_body {
 public:
  explicit struct_body(const nlohmann::json& body);
  result<std::string> string(const std::string& field) const;
  result<std::int64_t> integer(const std::string& field) const;
  result<bool> boolean(const std::string& field) const;
  result<std::vector<std::string>> strings(const std::string& field) const;

 private:
  const nlohmann::json* find(const std::string& field) const;
  nlohmann::json body_;
};
// Their status codes (sys_operator.cpp): 503 sealed; 400 the caller's mistake (invalid_request,
// not_initialized, permission_denied); 500 the rest; the message as is (Vault's http handlers do
// not wrap it in a multierror).
reply operator_failure(const error& e);
// The same for a status read (GET): not_initialized is "server is not yet initialized".
reply operator_status_failure(const error& e);
// {key, nonce} of a generate-root, rekey or verify update, the key decoded (hex or base64): 400s
// "'key' must be specified in request body as JSON", "'key' must be a valid hex or base64 string".
struct key_and_nonce {
  secret key;
  std::string nonce;
};
result<key_and_nonce> read_key_and_nonce(const request& req);

// sys/leases/* and the legacy aliases (sys_leases.cpp).
std::vector<route> sys_lease_routes(leases::lease_manager& m, const clock& clk);

// sys/policy[/:name] (legacy, "rules"), sys/policies/acl[/:name] (sys_policy.cpp).
std::vector<route> sys_policy_routes(auth::policy_store& policies);
// sys/capabilities, sys/capabilities-self, sys/capabilities-accessor (sys_policy.cpp).
std::vector<route> sys_capabilities_routes(auth::policy_store& policies, auth::token_store& tokens);

// sys/mounts, sys/mounts/:path[/tune] (also auth/... paths, when auth is given), sys/remount
// (sys_mounts.cpp).
std::vector<route> sys_mount_routes(mounts::secret_mounts& mounts, mounts::auth_mounts* auth = nullptr);
// sys/internal/ui/mounts[/:path] (sys_mounts.cpp): unauthenticated routes that read the token themselves.
std::vector<route> sys_internal_ui_routes(mounts::secret_mounts* mounts, mounts::auth_mounts* auth, auth::authenticator& authn,
                                          auth::policy_store* policies);
// sys/policies/password[/:name[/generate]] (database_routes.cpp).
std::vector<route> sys_password_policy_routes(engine::password_policies& p);
// sys/auth, sys/auth/:path and sys/auth/:path/tune (sys_auth.cpp).
std::vector<route> sys_auth_routes(mounts::auth_mounts& mounts);

class response_wrapping;
// sys/wrapping/wrap, unwrap, lookup, rewrap (sys_wrapping.cpp).
std::vector<route> sys_wrapping_routes(response_wrapping& w, auth::authenticator& authn, auth::policy_store* policies);

// The "auth/token/" mount (auth_token.cpp).
std::shared_ptr<mount_table_entry> token_mount(auth::token_store& tokens, const clock& clk);
// The Vault "auth" block of a response that issued or renewed a token.
nlohmann::json auth_block(const auth::issued_token& t, bool with_token);

}  // namespace credbroker::api
