// sys/wrapping/wrap, unwrap, lookup, rewrap (Vault's logical_system.go handleWrapping*).
//
//   wrap    authenticated; needs X-Vault-Wrap-TTL ("endpoint requires response wrapping to be
//           used"); the request body is the data wrapped, answered as wrap_info.
//   unwrap  the wrapping token in "token" (a third party's request: its own token must be valid
//           and allowed update on sys/wrapping/unwrap) or as the request's token; the original
//           response, once. Unauthenticated in the router because the wrapping token is the
//           credential: presenting it the ordinary way would spend its one use before the handler
//           could read the response. With X-Vault-Wrap-TTL the response is wrapped again.
//   lookup  unauthenticated, as Vault's: creation_ttl, creation_time, creation_path, without
//           consuming the token.
//   rewrap  authenticated; consumes "token" and wraps its response again under a new token with
//           the original TTL and creation path.
// A bad wrapping token is 400 "wrapping token is not valid or does not exist" everywhere.
#include "api/response_wrapping.hpp"
#include "api/sys_routes.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

const std::string denied_text = "1 error occurred:\n\t* permission denied\n\n";

// The wrapping token of an unwrap or lookup: "token" in the body, else the request's own token.
secret wrapping_token_of(const request& req, const field_data& fd) {
  const std::string body = fd.get_string("token").value_or("");
  return body.empty() ? req.token : secret(body);
}

// A third party's unwrap: its own token must be accepted and allowed update on the path.
std::optional<reply> third_party_refusal(const request& req, auth::authenticator& authn, auth::policy_store* policies) {
  if (req.token.empty()) return reply::fail(403, "permission denied");
  const auto who = authn.authenticate_from(req.token, req.client_address).caller;
  if (!who) return reply::fail(403, "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n");
  if (who->is_root()) return std::nullopt;
  if (policies == nullptr) return reply::fail(403, denied_text);
  auto acl = policies->acl_for(who->policies);
  if (!acl) return reply::fail(acl.err());
  const auto d = (*acl)->check(auth::acl_operation::update, req.path);
  if (!d.allowed || !within_wrapping_bounds(d, req.wrap_ttl)) return reply::fail(403, denied_text);
  return std::nullopt;
}

// The stored body as the answer: the original status 200 and body, or 204 for none.
reply answer_of(response_wrapping& w, const request& req, const response_wrapping::wrapped& got) {
  if (req.wrap_ttl) {
    auto info = w.wrap(got.response, *req.wrap_ttl, req.path, "");
    if (!info) return reply::fail(info.err());
    reply out = reply::with_data(nullptr);
    out.wrap_info = std::move(*info);
    return out;
  }
  if (got.response.empty()) return reply::empty();
  auto body = nlohmann::json::parse(got.response, nullptr, false);
  if (body.is_discarded()) return reply::fail(500, multierror_text("error decoding wrapped response"));
  return reply::raw(200, std::move(body));
}

route wrap_route() {
  route r;
  r.pattern = "wrapping/wrap";
  r.warn_unknown_fields = false;  // every field is data
  r.operations[operation::update] = [](request& req, const field_data&) {
    if (!req.wrap_ttl) return reply::fail(400, "endpoint requires response wrapping to be used");
    return reply::with_data(req.body);
  };
  return r;
}

route unwrap_route(response_wrapping& w, auth::authenticator& authn, auth::policy_store* policies) {
  route r;
  r.pattern = "wrapping/unwrap";
  r.unauthenticated = true;  // see the header comment
  r.fields = {{"token", field_type::string}};
  r.operations[operation::update] = [&w, &authn, policies](request& req, const field_data& fd) {
    const bool third_party = !fd.get_string("token").value_or("").empty();
    if (third_party) {
      if (auto refused = third_party_refusal(req, authn, policies)) return *refused;
    } else if (req.token.empty()) {
      return reply::fail(403, "permission denied");
    }
    auto got = w.unwrap(wrapping_token_of(req, fd));
    if (!got) return reply::fail(got.err());
    return answer_of(w, req, *got);
  };
  return r;
}

route lookup_route(response_wrapping& w) {
  route r;
  r.pattern = "wrapping/lookup";
  r.unauthenticated = true;  // as Vault's
  r.fields = {{"token", field_type::string}};
  const auto look = [&w](request& req, const field_data& fd) {
    const secret token = wrapping_token_of(req, fd);
    if (token.empty()) return reply::fail(400, "missing \"token\" value in input");
    auto got = w.lookup(token);
    if (!got) return reply::fail(got.err());
    return reply::with_data({{"creation_ttl", got->creation_ttl},
                             {"creation_time", format_rfc3339_seconds(got->creation_time)},
                             {"creation_path", got->creation_path}});
  };
  r.operations[operation::update] = look;
  r.operations[operation::read] = look;
  return r;
}

route rewrap_route(response_wrapping& w) {
  route r;
  r.pattern = "wrapping/rewrap";
  r.fields = {{"token", field_type::string}};
  r.operations[operation::update] = [&w](request& req, const field_data& fd) {
    const std::string token = fd.get_string("token").value_or("");
    if (token.empty()) return reply::fail(400, "missing \"token\" value in input");
    auto got = w.unwrap(secret(token));
    if (!got) return reply::fail(got.err());
    std::chrono::seconds ttl{got->creation_ttl};
    if (req.wrap_ttl && *req.wrap_ttl < ttl) ttl = *req.wrap_ttl;
    auto info = w.wrap(got->response, ttl, got->creation_path, "");
    if (!info) return reply::fail(info.err());
    reply out = reply::with_data(nullptr);
    out.wrap_info = std::move(*info);
    return out;
  };
  return r;
}

}  // namespace

std::vector<route> sys_wrapping_routes(response_wrapping& w, auth::authenticator& authn, auth::policy_store* policies) {
  std::vector<route> out;
  out.push_back(wrap_route());
  out.push_back(unwrap_route(w, authn, policies));
  out.push_back(lookup_route(w));
  out.push_back(rewrap_route(w));
  return out;
}

}  // namespace credbroker::api
