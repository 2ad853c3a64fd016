// The AppRole auth method's routes, under the mount's path (default auth/approle/): login, role CRUD,
// role-id, secret-id create/list/lookup/destroy (by value and by accessor), custom-secret-id, the
// per-field role endpoints (role/:name/policies, .../secret-id-ttl, ...: read, update, delete as
// Vault's path_role.go) and tidy/secret-id.
#include "api/mount_routes.hpp"
#include "api/sys_routes.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

using auth::approle_backend;
using backend_ptr = std::shared_ptr<approle_backend>;

route make(std::string pattern, std::vector<field_spec> fields) {
  route r;
  r.pattern = std::move(pattern);
  r.fields = std::move(fields);
  return r;
}

reply failed(const error& e) { return reply::fail(e); }

const std::vector<field_spec> role_fields = {
    {"role_name", field_type::string},
    {"bind_secret_id", field_type::boolean},
    {"secret_id_bound_cidrs", field_type::comma_slice},
    {"bound_cidr_list", field_type::comma_slice},
    {"token_bound_cidrs", field_type::comma_slice},
    {"secret_id_num_uses", field_type::integer},
    {"secret_id_ttl", field_type::duration},
    {"local_secret_ids", field_type::boolean},
    {"token_policies", field_type::comma_slice},
    {"policies", field_type::comma_slice},
    {"token_ttl", field_type::duration},
    {"token_max_ttl", field_type::duration},
    {"token_explicit_max_ttl", field_type::duration},
    {"token_num_uses", field_type::integer},
    {"token_period", field_type::duration},
    {"period", field_type::duration},
    {"token_no_default_policy", field_type::boolean},
    {"token_type", field_type::string},
    {"role_id", field_type::string},
};

nlohmann::json role_data(const auth::approle_role& r) {
  return {
      {"bind_secret_id", r.bind_secret_id},
      {"local_secret_ids", false},
      {"secret_id_bound_cidrs", r.secret_id_bound_cidrs.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.secret_id_bound_cidrs)},
      {"secret_id_num_uses", r.secret_id_num_uses},
      {"secret_id_ttl", r.secret_id_ttl},
      {"token_bound_cidrs", r.token_bound_cidrs.empty() ? nlohmann::json::array() : nlohmann::json(r.token_bound_cidrs)},
      {"token_explicit_max_ttl", r.token_explicit_max_ttl},
      {"token_max_ttl", r.token_max_ttl},
      {"token_no_default_policy", r.token_no_default_policy},
      {"token_num_uses", r.token_num_uses},
      {"token_period", r.token_period},
      {"period", r.token_period},
      {"token_policies", r.token_policies},
      {"policies", r.token_policies},
      {"token_ttl", r.token_ttl},
      {"token_type", r.token_type},
  };
}

nlohmann::json secret_data(const auth::secret_id_info& i) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  auto when = [](std::int64_t t) {
    return t == 0 ? std::string("0001-01-01T00:00:00Z") : format_rfc3339_nano(system_clock::time_point(seconds(t)));
  };
  return {
      {"cidr_list", i.cidr_list.empty() ? nlohmann::json::array() : nlohmann::json(i.cidr_list)},
      {"creation_time", when(i.creation_time)},
      {"expiration_time", when(i.expiration_time)},
      {"last_updated_time", when(i.last_updated_time)},
      {"metadata", i.metadata},
      {"secret_id_accessor", i.accessor},
      {"secret_id_num_uses", i.num_uses},
      {"secret_id_ttl", i.ttl},
      {"token_bound_cidrs", i.token_bound_cidrs.empty() ? nlohmann::json::array() : nlohmann::json(i.token_bound_cidrs)},
  };
}

// The role parameters a request provides, applied onto r (the role endpoint and the per-field ones).
void apply_role_fields(auth::approle_role& r, const field_data& fd) {
  auto secs = [&](const char* name, std::int64_t& into) {
    if (auto d = fd.get_duration(name)) into = d->count();
  };
  if (auto v = fd.get_bool("bind_secret_id")) r.bind_secret_id = *v;
  if (auto v = fd.get_strings("secret_id_bound_cidrs")) r.secret_id_bound_cidrs = *v;
  else if (auto old = fd.get_strings("bound_cidr_list")) r.secret_id_bound_cidrs = *old;
  if (auto v = fd.get_strings("token_bound_cidrs")) r.token_bound_cidrs = *v;
  if (auto v = fd.get_int("secret_id_num_uses")) r.secret_id_num_uses = *v;
  secs("secret_id_ttl", r.secret_id_ttl);
  if (auto v = fd.get_strings("token_policies")) r.token_policies = *v;
  else if (auto old = fd.get_strings("policies")) r.token_policies = *old;
  secs("token_ttl", r.token_ttl);
  secs("token_max_ttl", r.token_max_ttl);
  secs("token_explicit_max_ttl", r.token_explicit_max_ttl);
  if (auto v = fd.get_int("token_num_uses")) r.token_num_uses = *v;
  secs("token_period", r.token_period);
  if (!fd.provided("token_period")) secs("period", r.token_period);
  if (auto v = fd.get_bool("token_no_default_policy")) r.token_no_default_policy = *v;
  if (auto v = fd.get_string("token_type")) r.token_type = *v;
}

// One per-field endpoint, role/:role_name/<path>: `fields` are what it takes (the first one named in
// "missing ..." when none is given) and what its read answers, `reset` what its delete restores.
struct role_field_endpoint {
  const char* path;
  std::vector<field_spec> fields;
  void (*reset)(auth::approle_role&);
};

const std::vector<role_field_endpoint>& role_field_endpoints() {
  using r_t = auth::approle_role;
  static const std::vector<role_field_endpoint> all = {
      {"policies", {{"token_policies", field_type::comma_slice}, {"policies", field_type::comma_slice}},
       [](r_t& r) { r.token_policies.clear(); }},
      {"bound-cidr-list", {{"bound_cidr_list", field_type::comma_slice}}, [](r_t& r) { r.secret_id_bound_cidrs.clear(); }},
      {"secret-id-bound-cidrs", {{"secret_id_bound_cidrs", field_type::comma_slice}},
       [](r_t& r) { r.secret_id_bound_cidrs.clear(); }},
      {"token-bound-cidrs", {{"token_bound_cidrs", field_type::comma_slice}}, [](r_t& r) { r.token_bound_cidrs.clear(); }},
      {"bind-secret-id", {{"bind_secret_id", field_type::boolean}}, [](r_t& r) { r.bind_secret_id = true; }},
      {"secret-id-num-uses", {{"secret_id_num_uses", field_type::integer}}, [](r_t& r) { r.secret_id_num_uses = 0; }},
      {"secret-id-ttl", {{"secret_id_ttl", field_type::duration}}, [](r_t& r) { r.secret_id_ttl = 0; }},
      {"period", {{"period", field_type::duration}, {"token_period", field_type::duration}},
       [](r_t& r) { r.token_period = 0; }},
      {"token-num-uses", {{"token_num_uses", field_type::integer}}, [](r_t& r) { r.token_num_uses = 0; }},
      {"token-ttl", {{"token_ttl", field_type::duration}}, [](r_t& r) { r.token_ttl = 0; }},
      {"token-max-ttl", {{"token_max_ttl", field_type::duration}}, [](r_t& r) { r.token_max_ttl = 0; }},
  };
  return all;
}

route role_field_route(const role_field_endpoint& ep, const backend_ptr& b) {
  std::vector<field_spec> fields = ep.fields;
  fields.push_back({"role_name", field_type::string});
  route rt = make(std::string("role/:role_name/") + ep.path, fields);
  std::vector<std::string> names;
  for (const auto& f : ep.fields) names.push_back(f.name);
  rt.operations[operation::read] = [b, names](request& req, const field_data&) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::not_found();
    nlohmann::json all = role_data(**r);
    all["bound_cidr_list"] = all["secret_id_bound_cidrs"];
    nlohmann::json out = nlohmann::json::object();
    for (const auto& n : names) out[n] = all[n];
    return reply::with_data(std::move(out));
  };
  auto update = [b, names](request& req, const field_data& fd) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::fail(404, multierror_text("unsupported path"));
    bool given = false;
    for (const auto& n : names) given = given || fd.provided(n);
    if (!given) return reply::fail(400, "missing " + names.front());
    auth::approle_role role = **r;
    apply_role_fields(role, fd);
    if (auto s = b->write_role(std::move(role)); !s) return failed(s.err());
    return reply::empty();
  };
  rt.operations[operation::update] = update;
  rt.operations[operation::create] = update;
  rt.operations[operation::remove] = [b, reset = ep.reset](request& req, const field_data&) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::empty();
    auth::approle_role role = **r;
    reset(role);
    if (auto s = b->write_role(std::move(role)); !s) return failed(s.err());
    return reply::empty();
  };
  return rt;
}

// metadata arrives as a JSON string holding an object of strings (Vault's format), or as an object.
result<std::map<std::string, std::string>> metadata_of(const field_data& fd) {
  auto raw = fd.raw().find("metadata");
  if (raw == fd.raw().end() || raw->is_null()) return std::map<std::string, std::string>{};
  nlohmann::json obj = *raw;
  if (raw->is_string()) {
    if (raw->get<std::string>().empty()) return std::map<std::string, std::string>{};
    obj = nlohmann::json::parse(raw->get<std::string>(), nullptr, false);
  }
  if (!obj.is_object()) return make_error(errc::invalid_request, "failed to parse metadata: expected a JSON object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : obj.items()) {
    if (!v.is_string()) return make_error(errc::invalid_request, "failed to parse metadata: value of \"" + k + "\" is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

std::shared_ptr<mount_table_entry> approle_mount(const std::string& mount_path, backend_ptr b) {
  auto m = std::make_shared<mount_table_entry>();
  m->path = mount_path;
  m->type = "approle";
  auto& routes = m->routes;

  route login = make("login", {{"role_id", field_type::string}, {"secret_id", field_type::string}});
  login.unauthenticated = true;
  login.operations[operation::update] = [b](request& req, const field_data& fd) {
    auto t = b->login(fd.get_string("role_id").value_or(""), secret(fd.get_string("secret_id").value_or("")),
                      req.client_address);
    if (!t) return failed(t.err());
    reply r = reply::with_data(nullptr);
    r.auth = auth_block(*t, true);
    r.warnings = t->warnings;
    return r;
  };
  routes.push_back(std::move(login));

  route list = make("role/", {});
  list.operations[operation::list] = [b](request&, const field_data&) {
    auto keys = b->list_roles();
    if (!keys) return failed(keys.err());
    return reply::with_data({{"keys", *keys}});
  };
  routes.push_back(std::move(list));

  route role = make("role/:role_name", role_fields);
  role.exists = [b](const request& req) {
    auto r = b->read_role(req.captures.at("role_name"));
    return r && r->has_value();
  };
  role.operations[operation::read] = [b](request& req, const field_data&) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::not_found();
    return reply::with_data(role_data(**r));
  };
  auto write = [b](request& req, const field_data& fd) {
    auto existing = b->read_role(req.captures.at("role_name"));
    if (!existing) return failed(existing.err());
    auth::approle_role r = existing->value_or(auth::approle_role{});
    r.name = req.captures.at("role_name");
    apply_role_fields(r, fd);
    if (auto v = fd.get_string("role_id"); v && !v->empty()) r.role_id = *v;
    if (auto s = b->write_role(std::move(r)); !s) return failed(s.err());
    return reply::empty();
  };
  role.operations[operation::create] = write;
  role.operations[operation::update] = write;
  role.operations[operation::remove] = [b](request& req, const field_data&) {
    if (auto s = b->delete_role(req.captures.at("role_name")); !s) return failed(s.err());
    return reply::empty();
  };
  routes.push_back(std::move(role));

  route role_id = make("role/:role_name/role-id", {{"role_id", field_type::string}});
  role_id.operations[operation::read] = [b](request& req, const field_data&) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::not_found();
    return reply::with_data({{"role_id", (*r)->role_id}});
  };
  role_id.operations[operation::update] = [b](request& req, const field_data& fd) {
    if (auto s = b->set_role_id(req.captures.at("role_name"), fd.get_string("role_id").value_or("")); !s) {
      return failed(s.err());
    }
    return reply::empty();
  };
  routes.push_back(std::move(role_id));

  for (const auto& ep : role_field_endpoints()) routes.push_back(role_field_route(ep, b));
  route local_ids = make("role/:role_name/local-secret-ids", {{"role_name", field_type::string}});
  local_ids.operations[operation::read] = [b](request& req, const field_data&) {
    auto r = b->read_role(req.captures.at("role_name"));
    if (!r) return failed(r.err());
    if (!r->has_value()) return reply::not_found();
    return reply::with_data({{"local_secret_ids", false}});
  };
  routes.push_back(std::move(local_ids));

  // Vault runs the tidy in the background and answers at once; here it is done before the answer.
  route tidy = make("tidy/secret-id", {});
  tidy.operations[operation::update] = [b](request&, const field_data&) {
    auto n = b->tidy_secret_ids();
    if (!n) return failed(n.err());
    reply r = reply::with_data(nullptr);
    r.status = 202;
    r.warnings = {"Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."};
    return r;
  };
  routes.push_back(std::move(tidy));

  auto issue = [b](request& req, const field_data& fd, bool custom) {
    auto meta = metadata_of(fd);
    if (!meta) return failed(meta.err());
    std::optional<std::chrono::seconds> ttl = fd.get_duration("ttl");
    std::optional<std::int64_t> uses = fd.get_int("num_uses");
    std::optional<std::string> value;
    if (custom) value = fd.get_string("secret_id").value_or("");
    auth::secret_id_bindings bindings;
    bindings.cidr_list = fd.get_strings("cidr_list").value_or(std::vector<std::string>{});
    bindings.token_bound_cidrs = fd.get_strings("token_bound_cidrs").value_or(std::vector<std::string>{});
    auto s = b->create_secret_id(req.captures.at("role_name"), std::move(*meta), ttl, uses, value, std::move(bindings));
    if (!s) return failed(s.err());
    return reply::with_data({{"secret_id", s->secret_id.reveal()},
                             {"secret_id_accessor", s->info.accessor},
                             {"secret_id_ttl", s->info.ttl},
                             {"secret_id_num_uses", s->info.num_uses}});
  };
  // "metadata" is read from the raw body by metadata_of (a JSON string or an object), so it is not
  // declared, and these routes do not warn about undeclared parameters.
  const std::vector<field_spec> secret_fields = {{"role_name", field_type::string}, {"cidr_list", field_type::comma_slice},
                                                 {"token_bound_cidrs", field_type::comma_slice},
                                                 {"ttl", field_type::duration}, {"num_uses", field_type::integer},
                                                 {"secret_id", field_type::string}};
  route secret_id = make("role/:role_name/secret-id", secret_fields);
  secret_id.warn_unknown_fields = false;
  secret_id.operations[operation::update] = [issue](request& req, const field_data& fd) { return issue(req, fd, false); };
  routes.push_back(std::move(secret_id));
  route custom = make("role/:role_name/custom-secret-id", secret_fields);
  custom.warn_unknown_fields = false;
  custom.operations[operation::update] = [issue](request& req, const field_data& fd) { return issue(req, fd, true); };
  routes.push_back(std::move(custom));

  route secret_list = make("role/:role_name/secret-id/", {});
  secret_list.operations[operation::list] = [b](request& req, const field_data&) {
    auto keys = b->list_secret_id_accessors(req.captures.at("role_name"));
    if (!keys) return failed(keys.err());
    return reply::with_data({{"keys", *keys}});
  };
  routes.push_back(std::move(secret_list));

  route lookup = make("role/:role_name/secret-id/lookup", {{"secret_id", field_type::string}});
  lookup.operations[operation::update] = [b](request& req, const field_data& fd) {
    auto i = b->lookup_secret_id(req.captures.at("role_name"), secret(fd.get_string("secret_id").value_or("")));
    if (!i) return failed(i.err());
    if (!i->has_value()) return reply::empty();
    return reply::with_data(secret_data(**i));
  };
  routes.push_back(std::move(lookup));

  route destroy = make("role/:role_name/secret-id/destroy", {{"secret_id", field_type::string}});
  auto destroy_h = [b](request& req, const field_data& fd) {
    if (auto s = b->destroy_secret_id(req.captures.at("role_name"), secret(fd.get_string("secret_id").value_or(""))); !s) {
      return failed(s.err());
    }
    return reply::empty();
  };
  destroy.operations[operation::update] = destroy_h;
  destroy.operations[operation::remove] = destroy_h;
  routes.push_back(std::move(destroy));

  route acc_lookup = make("role/:role_name/secret-id-accessor/lookup", {{"secret_id_accessor", field_type::string}});
  acc_lookup.operations[operation::update] = [b](request& req, const field_data& fd) {
    auto i = b->lookup_secret_id_accessor(req.captures.at("role_name"), fd.get_string("secret_id_accessor").value_or(""));
    if (!i) return failed(i.err());
    if (!i->has_value()) return reply::empty();
    return reply::with_data(secret_data(**i));
  };
  routes.push_back(std::move(acc_lookup));

  route acc_destroy = make("role/:role_name/secret-id-accessor/destroy", {{"secret_id_accessor", field_type::string}});
  auto acc_destroy_h = [b](request& req, const field_data& fd) {
    if (auto s = b->destroy_secret_id_accessor(req.captures.at("role_name"), fd.get_string("secret_id_accessor").value_or(""));
        !s) {
      return failed(s.err());
    }
    return reply::empty();
  };
  acc_destroy.operations[operation::update] = acc_destroy_h;
  acc_destroy.operations[operation::remove] = acc_destroy_h;
  routes.push_back(std::move(acc_destroy));
  return m;
}

}  // namespace credbroker::api
