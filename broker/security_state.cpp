#include "broker/security_state.hpp"

#include "broker/auth/approle.hpp"
#include "broker/mounts/auth_mounts.hpp"
#include "broker/mounts/secret_mounts.hpp"
#include "broker/storage/rename.hpp"
#include "leases/lease.hpp"

namespace credbroker::server {

void register_security_state(barrier::store_layout& layout, storage::physical& store, auth::token_store& tokens) {
  layout.require({auth::token_store::salt_key, "the token salt",
                  "every token, root included, and every AppRole role ID and secret ID stops working",
                  auth::token_store::new_salt, {"auth/token/id/", mounts::auth_mounts::data_prefix}});
  layout.require({mounts::secret_mounts::table_key, "the secrets engine mount table",
                  "every secrets engine mount is dropped with its roles and connections; its leases stay and are "
                  "revoked when due",
                  [] { return std::string("[]"); }, {"logical/", leases::lease_storage_prefix}});
  layout.require({mounts::auth_mounts::table_key, "the auth method table",
                  "every auth method (AppRole) is dropped with its roles and secret IDs",
                  [] { return std::string("[]"); }, {mounts::auth_mounts::data_prefix}});
  layout.add_upgrade({2, "token and secret-ID accessors in storage keys replaced by their HMACs", [&store, &tokens] {
                        if (auto s = tokens.salt_accessor_keys(); !s) return s;
                        if (auto s = auth::approle_backend::salt_accessor_keys(store, tokens, mounts::auth_mounts::data_prefix); !s) {
                          return s;
                        }
                        // The lease manager's index of the leases each token created.
                        return storage::rename_children(store, leases::lease_token_index_prefix,
                                                        [&tokens](std::string_view n) { return tokens.rename_accessor(n); });
                      }});
}


}  // namespace credbroker::server
