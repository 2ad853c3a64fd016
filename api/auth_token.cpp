// The token auth method, mounted at auth/token/ (vault-api.md §4.4): create, create-orphan, lookup,
// lookup-self, lookup-accessor, renew, renew-self, renew-accessor, revoke, revoke-self,
// revoke-accessor, revoke-orphan, and LIST accessors; token roles in token_roles.cpp.
#include "api/sys_routes.hpp"
#include "api/token_roles.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

using auth::token_store;

nlohmann::json lookup_data(const auth::token_entry& e, const std::string& id, std::int64_t now) {
  // Times from whole unix seconds: an entry stored by an older release with an absurd period must
  // still look up (a nanosecond time_point would overflow).
  const std::int64_t ttl = e.expire_time == 0 ? 0 : std::max<std::int64_t>(0, e.expire_time - now);
  nlohmann::json d = {
      {"accessor", e.accessor},
      {"creation_time", e.creation_time},
      {"creation_ttl", e.creation_ttl},
      {"display_name", e.display_name},
      {"entity_id", ""},
      {"expire_time", e.expire_time == 0 ? nlohmann::json(nullptr)
                                         : nlohmann::json(format_rfc3339_seconds(e.expire_time))},
      {"explicit_max_ttl", e.explicit_max_ttl},
      {"id", id},
      {"issue_time", format_rfc3339_seconds(e.creation_time)},
      {"meta", e.meta.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.meta)},
      {"num_uses", e.num_uses},
      {"orphan", e.orphan},
      {"path", e.path},
      {"policies", e.policies},
      {"renewable", e.renewable},
      {"ttl", ttl},
      {"type", "service"},
  };
  if (e.period > 0) d["period"] = e.period;
  if (!e.role.empty()) d["role"] = e.role;
  if (!e.bound_cidrs.empty()) d["bound_cidrs"] = e.bound_cidrs;
  if (e.last_renewal_time > 0) {
    d["last_renewal_time"] = e.last_renewal_time;
    d["last_renewal"] = format_rfc3339_seconds(e.last_renewal_time);
  }
  return d;
}

std::int64_t seconds_of(time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

route make(std::string pattern, std::vector<field_spec> fields) {
  route r;
  r.pattern = std::move(pattern);
  r.fields = std::move(fields);
  return r;
}

}  // namespace

reply issued(result<auth::issued_token> t, bool with_token) {
  if (!t) return reply::fail(t.err());
  reply r = reply::with_data(nullptr);
  r.auth = auth_block(*t, with_token);
  r.warnings = t->warnings;
  return r;
}

const std::vector<field_spec> token_create_fields = {
    {"id", field_type::string},
    {"role_name", field_type::string},
    {"policies", field_type::comma_slice},
    {"meta", field_type::kv_pairs},
    {"no_parent", field_type::boolean},
    {"no_default_policy", field_type::boolean},
    {"renewable", field_type::boolean, true},
    {"ttl", field_type::duration},
    {"lease", field_type::duration},
    {"type", field_type::string},
    {"explicit_max_ttl", field_type::duration},
    {"display_name", field_type::string},
    {"num_uses", field_type::integer},
    {"period", field_type::duration},
    {"entity_alias", field_type::string},
};

std::optional<reply> read_token_request(const field_data& fd, bool orphan, auth::token_request& r) {
  const std::string type = fd.get_string("type").value_or("service");
  if (type != "service" && type != "default" && !type.empty()) {
    return reply::fail(400, "unsupported token type \"" + type + "\": credbroker issues service tokens only");
  }
  // The Go client always sends "entity_alias":"" (and "display_name":"", "num_uses":0): empty is none.
  if (!fd.get_string("entity_alias").value_or("").empty()) {
    return reply::fail(400, "entity_alias is not supported: credbroker has no identity store");
  }
  if (auto id = fd.get_string("id"); id && !id->empty()) r.id = *id;
  if (fd.provided("policies")) r.policies = fd.get_strings("policies");
  if (auto m = fd.get_json("meta"); m && m->is_object()) r.meta = m->get<std::map<std::string, std::string>>();
  r.no_parent = orphan || fd.get_bool("no_parent").value_or(false);
  r.no_default_policy = fd.get_bool("no_default_policy").value_or(false);
  r.renewable = fd.get_bool("renewable").value_or(true);
  r.ttl = fd.get_duration("ttl").value_or(fd.get_duration("lease").value_or(std::chrono::seconds(0)));
  r.explicit_max_ttl = fd.get_duration("explicit_max_ttl").value_or(std::chrono::seconds(0));
  r.period = fd.get_duration("period").value_or(std::chrono::seconds(0));
  r.display_name = fd.get_string("display_name").value_or("");
  r.num_uses = fd.get_int("num_uses").value_or(0);
  r.path = orphan ? "auth/token/create-orphan" : "auth/token/create";
  // create-orphan needs only `update` on its own path, as in Vault; no_parent on create needs sudo.
  r.orphan_allowed = orphan;
  return std::nullopt;
}

namespace {

reply create(token_store& tokens, request& req, const field_data& fd, bool orphan) {
  auth::token_request r;
  if (auto refused = read_token_request(fd, orphan, r)) return *refused;
  return issued(tokens.create(&*req.caller, req.sudo, std::move(r)), true);
}

}  // namespace

nlohmann::json auth_block(const auth::issued_token& t, bool with_token) {
  std::vector<std::string> policies = t.entry.policies;
  return {
      {"client_token", with_token ? t.token.reveal() : std::string()},
      {"accessor", t.entry.accessor},
      {"policies", policies},
      {"token_policies", policies},
      {"metadata", t.entry.meta.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.entry.meta)},
      {"lease_duration", t.ttl},
      {"renewable", t.entry.renewable},
      {"entity_id", ""},
      {"token_type", "service"},
      {"orphan", t.entry.orphan},
      {"mfa_requirement", nullptr},
      {"num_uses", t.entry.num_uses},
  };
}

std::shared_ptr<mount_table_entry> token_mount(token_store& tokens, const clock& clk) {
  auto m = std::make_shared<mount_table_entry>();
  m->path = "auth/token/";
  m->type = "token";
  auto& routes = m->routes;

  route c = make("create", token_create_fields);
  c.operations[operation::update] = [&tokens](request& req, const field_data& fd) { return create(tokens, req, fd, false); };
  routes.push_back(std::move(c));
  route co = make("create-orphan", token_create_fields);
  co.operations[operation::update] = [&tokens](request& req, const field_data& fd) { return create(tokens, req, fd, true); };
  routes.push_back(std::move(co));
  add_token_role_routes(routes, tokens);

  route lookup = make("lookup", {{"token", field_type::string}});
  // As Vault's: no token given looks up the caller's own (GET auth/token/lookup); one that does not
  // exist (revoked, expired) answers 403 "bad token".
  auto lookup_h = [&tokens, &clk](request& req, const field_data& fd) {
    secret t(fd.get_string("token").value_or(""));
    if (t.empty()) t = req.token;
    if (t.empty()) return reply::fail(400, "missing token ID");
    auto e = tokens.lookup(t);
    if (!e) {
      if (e.err().code == make_error_code(errc::invalid_request)) return reply::fail(403, "bad token");
      return reply::fail(e.err());
    }
    return reply::with_data(lookup_data(*e, t.reveal(), seconds_of(clk.now())));
  };
  lookup.operations[operation::read] = lookup_h;
  lookup.operations[operation::update] = lookup_h;
  routes.push_back(std::move(lookup));

  route self = make("lookup-self", {});
  auto self_h = [&tokens, &clk](request& req, const field_data&) {
    auto e = tokens.lookup(req.token);
    if (!e) return reply::fail(403, "permission denied");  // spent its last use on this very request
    return reply::with_data(lookup_data(*e, req.token.reveal(), seconds_of(clk.now())));
  };
  self.operations[operation::read] = self_h;
  self.operations[operation::update] = self_h;
  routes.push_back(std::move(self));

  route acc = make("lookup-accessor", {{"accessor", field_type::string}});
  acc.operations[operation::update] = [&tokens, &clk](request&, const field_data& fd) {
    const std::string a = fd.get_string("accessor").value_or("");
    if (a.empty()) return reply::fail(400, "missing accessor");
    auto e = tokens.lookup_accessor(a);
    if (!e) return reply::fail(e.err());
    return reply::with_data(lookup_data(*e, "", seconds_of(clk.now())));
  };
  routes.push_back(std::move(acc));

  const auto increment = [](const field_data& fd) {
    return fd.get_duration("increment").value_or(std::chrono::seconds(0));
  };
  route renew = make("renew", {{"token", field_type::string}, {"increment", field_type::duration}});
  renew.operations[operation::update] = [&tokens, increment](request&, const field_data& fd) {
    const secret t(fd.get_string("token").value_or(""));
    if (t.empty()) return reply::fail(400, "missing token");
    return issued(tokens.renew(t, increment(fd)), true);
  };
  routes.push_back(std::move(renew));
  route renew_self = make("renew-self", {{"increment", field_type::duration}});
  renew_self.operations[operation::update] = [&tokens, increment](request& req, const field_data& fd) {
    return issued(tokens.renew(req.token, increment(fd)), true);
  };
  routes.push_back(std::move(renew_self));
  route renew_acc = make("renew-accessor", {{"accessor", field_type::string}, {"increment", field_type::duration}});
  renew_acc.operations[operation::update] = [&tokens, increment](request&, const field_data& fd) {
    const std::string a = fd.get_string("accessor").value_or("");
    if (a.empty()) return reply::fail(400, "missing accessor");
    return issued(tokens.renew_accessor(a, increment(fd)), false);
  };
  routes.push_back(std::move(renew_acc));

  auto done = [](status s) { return s ? reply::empty() : reply::fail(s.err()); };
  route revoke = make("revoke", {{"token", field_type::string}});
  revoke.operations[operation::update] = [&tokens, done](request&, const field_data& fd) {
    const secret t(fd.get_string("token").value_or(""));
    if (t.empty()) return reply::fail(400, "missing token");
    return done(tokens.revoke(t));
  };
  routes.push_back(std::move(revoke));
  route revoke_self = make("revoke-self", {});
  revoke_self.operations[operation::update] = [&tokens, done](request& req, const field_data&) {
    return done(tokens.revoke(req.token));
  };
  routes.push_back(std::move(revoke_self));
  route revoke_acc = make("revoke-accessor", {{"accessor", field_type::string}});
  revoke_acc.operations[operation::update] = [&tokens, done](request&, const field_data& fd) {
    const std::string a = fd.get_string("accessor").value_or("");
    if (a.empty()) return reply::fail(400, "missing accessor");
    return done(tokens.revoke_accessor(a));
  };
  routes.push_back(std::move(revoke_acc));
  route revoke_orphan = make("revoke-orphan", {{"token", field_type::string}});
  revoke_orphan.sudo = true;
  revoke_orphan.operations[operation::update] = [&tokens, done](request&, const field_data& fd) {
    const secret t(fd.get_string("token").value_or(""));
    if (t.empty()) return reply::fail(400, "missing token");
    return done(tokens.revoke_orphan(t));
  };
  routes.push_back(std::move(revoke_orphan));

  route accessors = make("accessors/", {});
  accessors.sudo = true;
  accessors.operations[operation::list] = [&tokens](request&, const field_data&) {
    auto keys = tokens.list_accessors();
    if (!keys) return reply::fail(keys.err());
    return reply::with_data({{"keys", *keys}});
  };
  routes.push_back(std::move(accessors));
  return m;
}

}  // namespace credbroker::api
