// The database secrets engine's routes under one mount (vault-api.md §2): config, reset, roles,
// creds. Handlers translate between Vault's parameters and engine::database_engine.
#include <algorithm>
#include <functional>

#include "api/mount_routes.hpp"
#include "api/sys_routes.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/encoding.hpp"

namespace credbroker::api {
namespace {

using engine::database_engine;
using engine_ptr = std::shared_ptr<database_engine>;

route make(std::string pattern, std::vector<field_spec> fields) {
  route r;
  r.pattern = std::move(pattern);
  r.fields = std::move(fields);
  return r;
}

reply list_reply(result<std::vector<std::string>> keys) {
  if (!keys) return reply::fail(keys.err());
  return reply::with_data({{"keys", *keys}});
}

// A LIST-only route (e.g. "roles/") answering with the names `names` returns.
route list_route(std::string pattern, std::function<result<std::vector<std::string>>()> names) {
  route r = make(std::move(pattern), {});
  r.operations[operation::list] = [names = std::move(names)](request&, const field_data&) { return list_reply(names()); };
  return r;
}

// An update-only route "<action>/:name" (reset, rotate-root, rotate-role): runs `act` on the name,
// 204 when it succeeded.
route name_action_route(std::string pattern, std::function<status(const std::string&)> act) {
  route r = make(std::move(pattern), {{"name", field_type::string}});
  r.operations[operation::update] = [act = std::move(act)](request& req, const field_data&) {
    if (auto s = act(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  return r;
}

const std::vector<std::string> config_fields = {
    "name",           "plugin_name",          "plugin_version",         "verify_connection",
    "allowed_roles",  "root_rotation_statements", "password_policy",    "root_rotation_period",
    "root_rotation_schedule", "rotation_period", "rotation_schedule",   "rotation_window",
    "disable_automated_rotation", "skip_static_role_import_rotation"};

route config_route(engine_ptr e) {
  route r = make("config/:name", {{"name", field_type::string},
                                  {"plugin_name", field_type::string},
                                  {"plugin_version", field_type::string},
                                  {"verify_connection", field_type::boolean},
                                  {"allowed_roles", field_type::comma_slice},
                                  {"root_rotation_statements", field_type::string_slice},
                                  {"password_policy", field_type::string},
                                  {"root_rotation_period", field_type::duration},
                                  {"root_rotation_schedule", field_type::string},
                                  {"rotation_period", field_type::duration},
                                  {"rotation_schedule", field_type::string},
                                  {"rotation_window", field_type::duration},
                                  {"disable_automated_rotation", field_type::boolean},
                                  {"skip_static_role_import_rotation", field_type::boolean}});
  r.warn_unknown_fields = false;  // every other key is a connection detail for the plugin
  r.exists = [e](const request& req) {
    auto c = e->read_config(req.captures.at("name"));
    return c && c->has_value();
  };
  r.operations[operation::read] = [e](request& req, const field_data&) {
    auto c = e->read_config(req.captures.at("name"));
    if (!c) return reply::fail(c.err());
    if (!c->has_value()) return reply::not_found();
    return reply::with_data(database_engine::redacted(**c));
  };
  auto write = [e](request& req, const field_data& fd) {
    engine::config_update u;
    u.name = req.captures.at("name");
    u.plugin_name = fd.get_string("plugin_name");
    u.plugin_version = fd.get_string("plugin_version");
    u.verify_connection = fd.get_bool("verify_connection");
    u.allowed_roles = fd.get_strings("allowed_roles");
    u.root_rotation_statements = fd.get_strings("root_rotation_statements");
    u.password_policy = fd.get_string("password_policy");
    // Vault's names for the automated root rotation, and credbroker's earlier ones for the same.
    u.root_rotation_period = fd.provided("rotation_period") ? fd.get_duration("rotation_period")
                                                            : fd.get_duration("root_rotation_period");
    u.root_rotation_schedule = fd.provided("rotation_schedule") ? fd.get_string("rotation_schedule")
                                                                : fd.get_string("root_rotation_schedule");
    u.root_rotation_window = fd.get_duration("rotation_window");
    u.disable_automated_rotation = fd.get_bool("disable_automated_rotation");
    u.skip_static_role_import_rotation = fd.get_bool("skip_static_role_import_rotation");
    if (req.op == operation::create && !u.plugin_name) return reply::fail(400, "empty plugin name");
    for (const auto& [k, v] : fd.raw().items()) {
      if (std::find(config_fields.begin(), config_fields.end(), k) == config_fields.end() && !v.is_null()) u.details[k] = v;
    }
    auto warnings = e->write_config(std::move(u));
    if (!warnings) return reply::fail(warnings.err());
    if (warnings->empty()) return reply::empty();
    reply out = reply::with_data(nullptr);
    out.warnings = *warnings;
    return out;
  };
  r.operations[operation::create] = write;
  r.operations[operation::update] = write;
  r.operations[operation::remove] = [e](request& req, const field_data&) {
    if (auto s = e->delete_config(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  return r;
}

const std::vector<field_spec> role_fields = {
    {"name", field_type::string},
    {"db_name", field_type::string},
    {"default_ttl", field_type::duration},
    {"max_ttl", field_type::duration},
    {"creation_statements", field_type::string_slice},
    {"revocation_statements", field_type::string_slice},
    {"rollback_statements", field_type::string_slice},
    {"renew_statements", field_type::string_slice},
    {"credential_type", field_type::string},
    {"credential_config", field_type::kv_pairs},
};

nlohmann::json role_data(const engine::role& r) {
  nlohmann::json d = {{"db_name", r.db_name},
                      {"creation_statements", r.creation_statements},
                      {"revocation_statements", r.revocation_statements},
                      {"rollback_statements", r.rollback_statements},
                      {"renew_statements", r.renew_statements},
                      {"default_ttl", r.default_ttl.count()},
                      {"max_ttl", r.max_ttl.count()},
                      {"credential_type", r.credential_type}};
  if (!r.credential_config.empty()) d["credential_config"] = r.credential_config;
  return d;
}

route role_route(engine_ptr e) {
  route r = make("roles/:name", role_fields);
  r.exists = [e](const request& req) {
    auto ro = e->read_role(req.captures.at("name"));
    return ro && ro->has_value();
  };
  r.operations[operation::read] = [e](request& req, const field_data&) {
    auto ro = e->read_role(req.captures.at("name"));
    if (!ro) return reply::fail(ro.err());
    if (!ro->has_value()) return reply::not_found();
    return reply::with_data(role_data(**ro));
  };
  auto write = [e](request& req, const field_data& fd) {
    auto existing = e->read_role(req.captures.at("name"));
    if (!existing) return reply::fail(existing.err());
    engine::role ro = existing->value_or(engine::role{});
    ro.name = req.captures.at("name");
    if (auto v = fd.get_string("db_name")) ro.db_name = *v;
    if (auto v = fd.get_duration("default_ttl")) ro.default_ttl = *v;
    if (auto v = fd.get_duration("max_ttl")) ro.max_ttl = *v;
    if (auto v = fd.get_strings("creation_statements")) ro.creation_statements = *v;
    if (auto v = fd.get_strings("revocation_statements")) ro.revocation_statements = *v;
    if (auto v = fd.get_strings("rollback_statements")) ro.rollback_statements = *v;
    if (auto v = fd.get_strings("renew_statements")) ro.renew_statements = *v;
    if (auto v = fd.get_string("credential_type")) ro.credential_type = *v;
    if (auto v = fd.get_json("credential_config")) ro.credential_config = *v;
    auto warnings = e->write_role(std::move(ro));
    if (!warnings) return reply::fail(warnings.err());
    if (warnings->empty()) return reply::empty();
    reply out = reply::with_data(nullptr);
    out.warnings = std::move(*warnings);
    return out;
  };
  r.operations[operation::create] = write;
  r.operations[operation::update] = write;
  r.operations[operation::remove] = [e](request& req, const field_data&) {
    if (auto s = e->delete_role(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  return r;
}

const std::vector<field_spec> static_role_fields = {
    {"name", field_type::string},
    {"db_name", field_type::string},
    {"username", field_type::string},
    {"rotation_period", field_type::duration},
    {"rotation_schedule", field_type::string},
    {"rotation_window", field_type::duration},
    {"rotation_statements", field_type::string_slice},
    {"credential_type", field_type::string},
    {"credential_config", field_type::kv_pairs},
    {"skip_import_rotation", field_type::boolean},
    {"password", field_type::string},
};

// Vault's fields for a static role's timing: rotation_period, or rotation_schedule (+ window).
void put_rotation(nlohmann::json& d, const engine::rotation_state& r) {
  if (r.last != time_point{}) d["last_vault_rotation"] = format_rfc3339_nano(r.last);
  if (!r.schedule.empty()) {
    d["rotation_schedule"] = r.schedule;
    if (r.window.count() > 0) d["rotation_window"] = r.window.count();
  } else {
    d["rotation_period"] = r.period.count();
  }
}

route static_role_route(engine_ptr e) {
  route r = make("static-roles/:name", static_role_fields);
  r.exists = [e](const request& req) {
    auto ro = e->read_static_role(req.captures.at("name"));
    return ro && ro->has_value();
  };
  r.operations[operation::read] = [e](request& req, const field_data&) {
    auto ro = e->read_static_role(req.captures.at("name"));
    if (!ro) return reply::fail(ro.err());
    if (!ro->has_value()) return reply::not_found();
    const engine::static_role& s = **ro;
    nlohmann::json d = {{"db_name", s.db_name},
                        {"username", s.username},
                        {"rotation_statements", s.rotation_statements},
                        {"credential_type", s.credential_type}};
    put_rotation(d, s.rotation);
    if (!s.credential_config.empty()) d["credential_config"] = s.credential_config;
    // Beyond Vault's fields: when the next rotation runs, and why the last attempts failed.
    if (s.rotation.next != time_point{}) d["next_vault_rotation"] = format_rfc3339_nano(s.rotation.next);
    if (s.rotation.attempts > 0) {
      d["last_rotation_error"] = s.rotation.last_error;
      d["rotation_attempts"] = s.rotation.attempts;
      d["next_rotation_attempt"] = format_rfc3339_nano(s.rotation.next_attempt);
    }
    return reply::with_data(std::move(d));
  };
  auto write = [e](request& req, const field_data& fd) {
    engine::static_role_update u;
    u.name = req.captures.at("name");
    u.db_name = fd.get_string("db_name");
    u.username = fd.get_string("username");
    u.rotation_period = fd.get_duration("rotation_period");
    u.rotation_schedule = fd.get_string("rotation_schedule");
    u.rotation_window = fd.get_duration("rotation_window");
    u.rotation_statements = fd.get_strings("rotation_statements");
    u.credential_type = fd.get_string("credential_type");
    u.credential_config = fd.get_json("credential_config");
    u.skip_import_rotation = fd.get_bool("skip_import_rotation");
    if (auto p = fd.get_string("password")) u.password = secret(std::move(*p));
    auto warnings = e->write_static_role(std::move(u));
    if (!warnings) return reply::fail(warnings.err());
    if (warnings->empty()) return reply::empty();
    reply out = reply::with_data(nullptr);
    out.warnings = std::move(*warnings);
    return out;
  };
  r.operations[operation::create] = write;
  r.operations[operation::update] = write;
  r.operations[operation::remove] = [e](request& req, const field_data&) {
    if (auto s = e->delete_static_role(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  return r;
}

}  // namespace

std::shared_ptr<mount_table_entry> database_mount(const std::string& path, engine_ptr e) {
  auto m = std::make_shared<mount_table_entry>();
  m->path = path;
  m->type = "database";
  auto& routes = m->routes;

  routes.push_back(list_route("config/", [e] { return e->list_configs(); }));
  routes.push_back(config_route(e));

  routes.push_back(name_action_route("reset/:name", [e](const std::string& n) { return e->reset(n); }));

  routes.push_back(list_route("roles/", [e] { return e->list_roles(); }));
  routes.push_back(role_route(e));

  routes.push_back(name_action_route("rotate-root/:name", [e](const std::string& n) { return e->rotate_root(n); }));

  routes.push_back(list_route("static-roles/", [e] { return e->list_static_roles(); }));
  routes.push_back(static_role_route(e));

  route static_creds = make("static-creds/:name", {{"name", field_type::string}});
  static_creds.operations[operation::read] = [e](request& req, const field_data&) {
    auto c = e->static_creds(req.captures.at("name"));
    if (!c) return reply::fail(c.err());
    nlohmann::json d = {{"username", c->username}, {"password", c->password.reveal()}};
    put_rotation(d, c->rotation);
    const time_point next = c->rotation.attempts > 0 ? c->rotation.next_attempt : c->rotation.next;
    const auto ttl = next == time_point{} ? 0 : std::chrono::duration_cast<std::chrono::seconds>(next - e->now()).count();
    d["ttl"] = ttl < 0 ? 0 : ttl;
    return reply::with_data(std::move(d));
  };
  routes.push_back(std::move(static_creds));

  routes.push_back(name_action_route("rotate-role/:name", [e](const std::string& n) { return e->rotate_static(n); }));

  // credbroker's own: compare the database's users with the leases (Redis: ACL USERS on every node).
  route reconcile = make("reconcile/:name", {{"name", field_type::string}});
  reconcile.operations[operation::read] = [e](request& req, const field_data&) {
    auto r = e->reconcile(req.captures.at("name"));
    if (!r) return reply::fail(r.err());
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& n : r->nodes) {
      nodes.push_back({{"node", n.node},
                       {"users", n.users},
                       {"leases_without_user", n.leases_without_user},
                       {"users_without_lease", n.users_without_lease}});
    }
    return reply::with_data(
        {{"connection", r->connection}, {"prefix", r->prefix}, {"leases", r->leases}, {"clean", r->clean()}, {"nodes", nodes}});
  };
  routes.push_back(std::move(reconcile));

  route creds = make("creds/:name", {{"name", field_type::string}});
  creds.operations[operation::read] = [e](request& req, const field_data&) {
    engine::caller_info who;
    if (req.caller) {
      who.display_name = req.caller->display_name;
      who.token_accessor = req.caller->accessor;
    }
    auto c = e->issue(req.captures.at("name"), who);
    if (!c) return reply::fail(c.err());
    reply r = reply::with_data({{"username", c->username}, {"password", c->password.reveal()}});
    r.lease_id = c->lease_id;
    r.renewable = true;
    r.lease_duration = c->ttl.count();
    r.warnings = c->warnings;
    return r;
  };
  routes.push_back(std::move(creds));
  return m;
}

std::vector<route> sys_password_policy_routes(engine::password_policies& p) {
  std::vector<route> out;
  out.push_back(list_route("policies/password/", [&p] { return p.list(); }));

  route one = make("policies/password/:name", {{"name", field_type::string}, {"policy", field_type::string}});
  one.operations[operation::read] = [&p](request& req, const field_data&) {
    auto t = p.get_text(req.captures.at("name"));
    if (!t) return reply::fail(t.err());
    if (!t->has_value()) return reply::not_found();
    return reply::with_data({{"policy", **t}});
  };
  one.operations[operation::update] = [&p](request& req, const field_data& fd) {
    std::string text = fd.get_string("policy").value_or("");
    if (text.empty()) return reply::fail(400, "missing policy");
    if (text.find_first_of("=\n{ ") == std::string::npos) {
      if (auto decoded = base64_decode(text); decoded && !decoded->empty()) text = *decoded;
    }
    if (auto s = p.put(req.captures.at("name"), text); !s) return reply::fail(s.err());
    return reply::empty();
  };
  one.operations[operation::remove] = [&p](request& req, const field_data&) {
    if (auto s = p.remove(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  out.push_back(std::move(one));

  route gen = make("policies/password/:name/generate", {{"name", field_type::string}});
  gen.operations[operation::read] = [&p](request& req, const field_data&) {
    auto t = p.get_text(req.captures.at("name"));
    if (!t) return reply::fail(t.err());
    if (!t->has_value()) return reply::fail(400, "no policy found");
    auto pw = p.generate(req.captures.at("name"));
    if (!pw) return reply::fail(pw.err());
    return reply::with_data({{"password", pw->reveal()}});
  };
  out.push_back(std::move(gen));
  return out;
}

}  // namespace credbroker::api
