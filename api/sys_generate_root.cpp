// sys/generate-root/attempt (GET status, PUT/POST start, DELETE cancel) and sys/generate-root/update
// (PUT/POST a key share): Vault's http/sys_generate_root.go handlers, answered outside the envelope.
// Unauthenticated, as in Vault: they are how a lost root token is replaced, so no token can be
// required; what guards them is the quorum of unseal keys. The state machine, the OTP and the
// encoding are barrier::root_generation's; a finished attempt mints a root token in the token
// store (stored as an HMAC like every other token).
//
// GET/PUT answer GenerateRootStatusResponse: {nonce, started, progress, required, complete,
// encoded_token, encoded_root_token, pgp_fingerprint, otp, otp_length}; otp is set only in the
// answer to a start without one. PGP-encrypted tokens are refused with a 400.
#include "api/sys_routes.hpp"
#include "broker/barrier/root_generation.hpp"

namespace credbroker::api {
namespace {

using barrier::root_generation;

nlohmann::json status_body(const barrier::generation_status& s, const std::string& otp) {
  return {{"nonce", s.nonce},
          {"started", s.started},
          {"progress", s.progress},
          {"required", s.required},
          {"complete", false},
          {"encoded_token", ""},
          {"encoded_root_token", ""},
          {"pgp_fingerprint", ""},
          {"otp", otp},
          {"otp_length", root_generation::otp_length}};
}

reply attempt_status(root_generation& gen, const std::string& otp) {
  auto st = gen.status();
  if (!st) {
    return operator_status_failure(st.err());
  }
  return reply::raw(200, status_body(*st, otp));
}

route attempt_route(const std::shared_ptr<root_generation>& gen) {
  route r;
  r.pattern = "generate-root/attempt";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  r.operations[operation::read] = [gen](request&, const field_data&) { return attempt_status(*gen, ""); };
  r.operations[operation::update] = [gen](request& req, const field_data&) {
    const struct_body body(req.body);
    auto otp = body.string("otp");
    if (!otp) return reply::fail(400, otp.err().message);
    auto pgp = body.string("pgp_key");
    if (!pgp) return reply::fail(400, pgp.err().message);
    if (!pgp->empty()) {
      return reply::fail(400, "PGP-encrypted root tokens are not supported by credbroker: start the generation with "
                              "an OTP (\"otp\", " + std::to_string(root_generation::otp_length) +
                              " characters), or with neither to have one generated");
    }
    auto made = gen->start(*otp);
    if (!made) return operator_failure(made.err());
    return attempt_status(*gen, *made);
  };
  r.operations[operation::remove] = [gen](request&, const field_data&) {
    if (auto c = gen->cancel(); !c) return operator_failure(c.err());
    return reply::empty();
  };
  return r;
}

route update_route(const std::shared_ptr<root_generation>& gen, auth::token_store& tokens) {
  route r;
  r.pattern = "generate-root/update";
  r.unauthenticated = true;
  r.available_sealed = true;
  r.warn_unknown_fields = false;
  r.operations[operation::update] = [gen, &tokens](request& req, const field_data&) {
    auto given = read_key_and_nonce(req);
    if (!given) return reply::fail(400, given.err().message);
    auto done = gen->update(given->key, given->nonce, [&tokens] { return tokens.create_root(); });
    if (!done) return operator_failure(done.err());
    return reply::raw(200, nlohmann::json{{"nonce", given->nonce},
                                          {"started", true},
                                          {"progress", done->progress},
                                          {"required", done->required},
                                          {"complete", done->complete},
                                          {"encoded_token", done->encoded_token},
                                          {"encoded_root_token", done->encoded_token},
                                          {"pgp_fingerprint", ""},
                                          {"otp", ""},
                                          {"otp_length", 0}});
  };
  return r;
}

}  // namespace

std::vector<route> sys_generate_root_routes(seal_services& s) {
  auto gen = std::make_shared<root_generation>(s.seal);
  std::vector<route> out;
  out.push_back(attempt_route(gen));
  out.push_back(update_route(gen, s.tokens));
  return out;
}

}  // namespace credbroker::api
