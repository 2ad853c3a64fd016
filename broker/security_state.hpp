#pragma once
// security_state: what the server's store must hold once initialised (refused when missing, see
// barrier/store_layout.hpp: the token salt, the secrets engine mount table, the auth method table)
// and the layout upgrades of this release, registered on the node's store layout.
// Thread: called once, by the node's open, before anything reads the store.
#include "broker/auth/token_store.hpp"
#include "broker/barrier/store_layout.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::server {

void register_security_state(barrier::store_layout& layout, storage::physical& store, auth::token_store& tokens);

}  // namespace credbroker::server
