// PUT sys/init, PUT sys/unseal, PUT sys/seal, PUT sys/rotate, GET sys/key-status (vault-api.md §4.2).
#include "api/sys_routes.hpp"
#include "broker/core/encoding.hpp"

namespace credbroker::api {
route sys_init_write_route(seal_services& s) {
  route r;
  r.pattern = "init";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.fields = {{"secret_shares", field_type::integer},    {"secret_threshold", field_type::integer},
              {"pgp_keys", field_type::string_slice},     {"root_token_pgp_key", field_type::string},
              {"stored_shares", field_type::integer},     {"recovery_shares", field_type::integer},
              {"recovery_threshold", field_type::integer}, {"recovery_pgp_keys", field_type::string_slice}};
  r.operations[operation::update] = [&s](request&, const field_data& fd) {
    // The vault CLI always sends "pgp_keys":null and "root_token_pgp_key":"": empty means none.
    if (!fd.get_strings("pgp_keys").value_or(std::vector<std::string>{}).empty() ||
        !fd.get_string("root_token_pgp_key").value_or("").empty()) {
      return reply::fail(400, "PGP-encrypted unseal keys are not supported by credbroker");
    }
    if (!fd.provided("secret_shares") || !fd.provided("secret_threshold")) {
      return reply::fail(400, "secret_shares and secret_threshold are required (for example 5 and 3)");
    }
    auto keys = s.seal.init(static_cast<int>(*fd.get_int("secret_shares")),
                            static_cast<int>(*fd.get_int("secret_threshold")));
    if (!keys) return reply::fail(keys.err());
    auto token = s.tokens.create_root();
    (void)s.seal.seal();  // as Vault: initialised but sealed; unseal with the keys
    if (!token) return reply::fail(token.err());
    nlohmann::json body = {{"keys", nlohmann::json::array()}, {"keys_base64", nlohmann::json::array()},
                           {"root_token", token->reveal()}};
    for (const auto& k : *keys) {
      body["keys"].push_back(hex_encode(k.reveal()));
      body["keys_base64"].push_back(base64_encode(k.reveal()));
    }
    return reply::raw(200, std::move(body));
  };
  return r;
}

route sys_unseal_route(seal_services& s) {
  route r;
  r.pattern = "unseal";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.fields = {{"key", field_type::string}, {"reset", field_type::boolean}, {"migrate", field_type::boolean}};
  r.operations[operation::update] = [&s](request&, const field_data& fd) {
    if (fd.get_bool("reset").value_or(false)) {
      s.seal.reset();
      return reply::raw(200, seal_status_body(s.seal.status()));
    }
    const auto key = fd.get_string("key");
    if (!key || key->empty()) {
      return reply::fail(400, "'key' must be specified in request body as JSON, or 'reset' set to true");
    }
    auto raw = barrier::decode_key(*key);
    if (!raw) return reply::fail(400, "'key' must be a valid hex or base64 string");
    auto st = s.seal.unseal(secret(std::move(*raw)));
    if (!st) {
      if (st.err().code == make_error_code(errc::not_initialized)) return reply::fail(400, "Vault is not initialized");
      return reply::fail(400, "Error unsealing: " + st.err().message);
    }
    return reply::raw(200, seal_status_body(*st));
  };
  return r;
}

route sys_seal_route(seal_services& s) {
  route r;
  r.pattern = "seal";
  r.sudo = true;
  r.operations[operation::update] = [&s](request&, const field_data&) {
    if (auto st = s.seal.seal(); !st) return reply::fail(st.err());
    return reply::empty();
  };
  return r;
}

route sys_rotate_route(seal_services& s) {
  route r;
  r.pattern = "rotate";
  r.sudo = true;
  r.operations[operation::update] = [&s](request&, const field_data&) {
    if (auto k = s.barrier.rotate(); !k) return reply::fail(k.err());
    return reply::empty();
  };
  return r;
}

route sys_key_status_route(seal_services& s) {
  route r;
  r.pattern = "key-status";
  r.sudo = true;
  r.operations[operation::read] = [&s](request&, const field_data&) {
    auto k = s.barrier.key_status();
    if (!k) return reply::fail(k.err());
    return reply::with_data({{"term", k->term}, {"install_time", k->install_time}, {"encryptions", 0}});
  };
  return r;
}

}  // namespace credbroker::api
