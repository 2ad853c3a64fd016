// sys/rekey/init (GET status, PUT/POST start, DELETE cancel), sys/rekey/update (PUT/POST an old key
// share), sys/rekey/verify (GET, PUT/POST a new key share, DELETE restart the verification):
// Vault's http/sys_rekey.go handlers, answered outside the envelope, unauthenticated as in Vault.
// The state machine is barrier::rekey_operation; the crash-safe commit seal_manager::commit_rekey.
//
// Refused with a 400: pgp_keys (credbroker returns unseal keys in clear only), backup (Vault's own
// text: it needs PGP keys), stored_shares other than 0, and everything under
// sys/rekey-recovery-key/ (a Shamir seal has no recovery keys, as Vault answers).
// Cancelling an attempt younger than 10 minutes needs its nonce ({"nonce": ...} in the DELETE
// body or the query) or a root token (rekey_operation::cancel).
#include "api/sys_routes.hpp"
#include "broker/barrier/rekey_operation.hpp"
#include "broker/core/encoding.hpp"

namespace credbroker::api {
namespace {

using barrier::rekey_operation;

nlohmann::json status_body(const barrier::rekey_status& s) {
  nlohmann::json body = {{"nonce", s.nonce},
                         {"started", s.started},
                         {"t", s.new_threshold},
                         {"n", s.new_shares},
                         {"progress", s.progress},
                         {"required", s.required},
                         {"pgp_fingerprints", nullptr},
                         {"backup", false},
                         {"verification_required", s.verification_required}};
  if (!s.verification_nonce.empty()) body["verification_nonce"] = s.verification_nonce;
  return body;
}

reply init_status(rekey_operation& op) {
  auto st = op.status();
  if (!st) {
    return operator_status_failure(st.err());
  }
  return reply::raw(200, status_body(*st));
}

nlohmann::json verification_body(const barrier::verification_status& v) {
  return {{"nonce", v.nonce}, {"started", v.started}, {"t", v.new_threshold}, {"n", v.new_shares}, {"progress", v.progress}};
}

reply verify_status(rekey_operation& op) {
  auto v = op.verification();
  if (!v) {
    return operator_status_failure(v.err());
  }
  return reply::raw(200, verification_body(*v));
}

result<barrier::rekey_request> read_init(const request& req) {
  const struct_body body(req.body);
  auto shares = body.integer("secret_shares");
  if (!shares) return std::move(shares).err();
  auto threshold = body.integer("secret_threshold");
  if (!threshold) return std::move(threshold).err();
  auto stored = body.integer("stored_shares");
  if (!stored) return std::move(stored).err();
  auto pgp = body.strings("pgp_keys");
  if (!pgp) return std::move(pgp).err();
  auto backup = body.boolean("backup");
  if (!backup) return std::move(backup).err();
  auto verify = body.boolean("require_verification");
  if (!verify) return std::move(verify).err();
  if (*backup && pgp->empty()) {
    return make_error(errc::invalid_request,
                      "cannot request a backup of the new keys without providing PGP keys for encryption");
  }
  if (!pgp->empty()) {
    return make_error(errc::invalid_request,
                      "PGP-encrypted unseal keys are not supported by credbroker: leave pgp_keys empty, and use "
                      "require_verification to make sure the new keys were received before they replace the old ones");
  }
  if (*stored != 0) return make_error(errc::invalid_request, "stored keys are not supported by the current seal type");
  // Out-of-range counts are left for validate() to name (as "shares must be less than 256").
  auto clamp = [](std::int64_t v) { return static_cast<int>(std::clamp<std::int64_t>(v, -1, 100000)); };
  return barrier::rekey_request{clamp(*shares), clamp(*threshold), *verify};
}

route init_route(const std::shared_ptr<rekey_operation>& op, auth::token_store& tokens) {
  route r;
  r.pattern = "rekey/init";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  r.operations[operation::read] = [op](request&, const field_data&) { return init_status(*op); };
  r.operations[operation::update] = [op](request& req, const field_data&) {
    auto wanted = read_init(req);
    if (!wanted) return reply::fail(400, wanted.err().message);
    if (auto v = barrier::validate({wanted->shares, wanted->threshold}); !v) {
      return reply::fail(400, "invalid rekey seal configuration: " + v.err().message);
    }
    if (auto s = op->start(*wanted); !s) return operator_failure(s.err());
    return init_status(*op);
  };
  r.operations[operation::remove] = [op, &tokens](request& req, const field_data&) {
    auto nonce = struct_body(req.body).string("nonce");
    if (!nonce) return reply::fail(400, nonce.err().message);
    bool privileged = false;
    if (!req.token.empty()) {
      const auto caller = tokens.authenticate_from(req.token, req.client_address).caller;
      privileged = caller && caller->is_root();
    }
    if (auto s = op->cancel(*nonce, privileged); !s) return operator_failure(s.err());
    return reply::empty();
  };
  return r;
}

route update_route(const std::shared_ptr<rekey_operation>& op) {
  route r;
  r.pattern = "rekey/update";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  r.operations[operation::update] = [op](request& req, const field_data&) {
    auto given = read_key_and_nonce(req);
    if (!given) return reply::fail(400, given.err().message);
    auto done = op->update(given->key, given->nonce);
    if (!done) return operator_failure(done.err());
    if (!*done) return init_status(*op);
    const barrier::rekey_result& res = **done;
    nlohmann::json body = {{"nonce", given->nonce},
                           {"complete", true},
                           {"keys", nlohmann::json::array()},
                           {"keys_base64", nlohmann::json::array()},
                           {"pgp_fingerprints", nullptr},
                           {"backup", false},
                           {"verification_required", res.verification_required}};
    for (const auto& k : res.keys) {
      body["keys"].push_back(hex_encode(k.reveal()));
      body["keys_base64"].push_back(base64_encode(k.reveal()));
    }
    if (!res.verification_nonce.empty()) body["verification_nonce"] = res.verification_nonce;
    return reply::raw(200, std::move(body));
  };
  return r;
}

route verify_route(const std::shared_ptr<rekey_operation>& op) {
  route r;
  r.pattern = "rekey/verify";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  r.operations[operation::read] = [op](request&, const field_data&) { return verify_status(*op); };
  r.operations[operation::update] = [op](request& req, const field_data&) {
    auto given = read_key_and_nonce(req);
    if (!given) return reply::fail(400, given.err().message);
    auto done = op->verify(given->key, given->nonce);
    if (!done) return operator_failure(done.err());
    if (!*done) return verify_status(*op);
    return reply::raw(200, nlohmann::json{{"nonce", **done}, {"complete", true}});
  };
  r.operations[operation::remove] = [op](request&, const field_data&) {
    if (auto s = op->restart_verification(); !s) return operator_failure(s.err());
    return verify_status(*op);
  };
  return r;
}

// Vault answers every request under sys/rekey-recovery-key/ of a Shamir-sealed server this way.
route recovery_key_route() {
  route r;
  r.pattern = "rekey-recovery-key/*rest";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  const handler refuse = [](request&, const field_data&) { return reply::fail(400, "recovery rekeying not supported"); };
  for (const auto o : {operation::read, operation::update, operation::remove}) r.operations[o] = refuse;
  return r;
}

}  // namespace

std::vector<route> sys_rekey_routes(seal_services& s) {
  static const system_clock wall;
  auto op = std::make_shared<rekey_operation>(s.seal, wall);
  std::vector<route> out;
  out.push_back(init_route(op, s.tokens));
  out.push_back(update_route(op));
  out.push_back(verify_route(op));
  out.push_back(recovery_key_route());
  return out;
}

}  // namespace credbroker::api
