#include "api/token_roles.hpp"

#include <algorithm>
#include <memory>

#include "broker/auth/token_roles.hpp"
#include "broker/core/cidr.hpp"

namespace credbroker::api {
namespace {

using auth::token_role;
using auth::token_role_store;
using roles_ptr = std::shared_ptr<token_role_store>;

const std::vector<field_spec> role_fields = {
    {"role_name", field_type::string},
    {"allowed_policies", field_type::comma_slice},
    {"disallowed_policies", field_type::comma_slice},
    {"allowed_policies_glob", field_type::comma_slice},
    {"disallowed_policies_glob", field_type::comma_slice},
    {"orphan", field_type::boolean},
    {"renewable", field_type::boolean},
    {"path_suffix", field_type::string},
    {"period", field_type::duration},
    {"token_period", field_type::duration},
    {"explicit_max_ttl", field_type::duration},
    {"token_explicit_max_ttl", field_type::duration},
    {"token_type", field_type::string},
    {"allowed_entity_aliases", field_type::comma_slice},
    {"token_no_default_policy", field_type::boolean},
    {"token_num_uses", field_type::integer},
    {"token_bound_cidrs", field_type::comma_slice},
    {"bound_cidrs", field_type::comma_slice},
};

// Vault's strutil.RemoveDuplicates(items, lowercase=true): trimmed, lower-cased, no blanks, sorted, unique.
std::vector<std::string> lowered_unique(std::vector<std::string> v) {
  for (auto& s : v) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  std::erase(v, std::string());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// Vault's unanchored match of \w[\w-.]+\w: some run of word characters, '-' and '.' holds two
// word characters at least two apart.
bool path_suffix_ok(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t first = std::string::npos, last = 0;
    for (; i < s.size() && (is_word(s[i]) || s[i] == '-' || s[i] == '.'); ++i) {
      if (is_word(s[i])) {
        if (first == std::string::npos) first = i;
        last = i;
      }
    }
    if (first != std::string::npos && last >= first + 2) return true;
    ++i;
  }
  return false;
}

nlohmann::json role_data(const token_role& r) {
  nlohmann::json d = {
      {"allowed_entity_aliases", r.allowed_entity_aliases.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.allowed_entity_aliases)},
      {"allowed_policies", r.allowed_policies},
      {"allowed_policies_glob", r.allowed_policies_glob},
      {"disallowed_policies", r.disallowed_policies},
      {"disallowed_policies_glob", r.disallowed_policies_glob},
      {"explicit_max_ttl", r.explicit_max_ttl},
      {"name", r.name},
      {"orphan", r.orphan},
      {"path_suffix", r.path_suffix},
      {"period", r.period},
      {"renewable", r.renewable},
      {"token_explicit_max_ttl", r.token_explicit_max_ttl},
      {"token_no_default_policy", r.token_no_default_policy},
      {"token_period", r.token_period},
      {"token_type", r.token_type},
  };
  if (r.token_num_uses > 0) d["token_num_uses"] = r.token_num_uses;
  d["token_bound_cidrs"] = r.token_bound_cidrs.empty() ? nlohmann::json::array() : nlohmann::json(r.token_bound_cidrs);
  if (!r.token_bound_cidrs.empty()) d["bound_cidrs"] = r.token_bound_cidrs;  // Vault: only when set
  return d;
}

// token_period wins over the deprecated period, with Vault's warning when both come (the same for
// token_explicit_max_ttl and explicit_max_ttl). The legacy field is kept only when it was the one set.
void apply_ttl_pair(const field_data& fd, const char* current, const char* legacy, std::int64_t& current_v,
                    std::int64_t& legacy_v, std::vector<std::string>& warnings) {
  if (fd.provided(current)) {
    current_v = fd.get_duration(current)->count();
    legacy_v = 0;
    if (fd.provided(legacy)) {
      warnings.push_back(std::string("Both '") + current + "' and deprecated '" + legacy +
                         "' value supplied, ignoring the deprecated value");
    }
  } else if (fd.provided(legacy)) {
    legacy_v = fd.get_duration(legacy)->count();
    current_v = legacy_v;
  }
}

std::optional<reply> apply_fields(const field_data& fd, token_role& r, std::vector<std::string>& warnings) {
  if (fd.provided("orphan")) r.orphan = *fd.get_bool("orphan");
  if (fd.provided("renewable")) r.renewable = *fd.get_bool("renewable");
  if (fd.provided("path_suffix")) {
    const std::string suffix = *fd.get_string("path_suffix");
    if (!suffix.empty() && !path_suffix_ok(suffix)) {
      return reply::fail(400, "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w");
    }
    r.path_suffix = suffix;
  }
  if (r.path_suffix.find("..") != std::string::npos) {
    return reply::fail(400, "error registering path suffix: path cannot contain parent references");
  }
  if (fd.provided("allowed_policies")) r.allowed_policies = auth::sanitize_policies(*fd.get_strings("allowed_policies"), false);
  if (fd.provided("disallowed_policies")) r.disallowed_policies = lowered_unique(*fd.get_strings("disallowed_policies"));
  if (fd.provided("allowed_policies_glob")) {
    r.allowed_policies_glob = auth::sanitize_policies(*fd.get_strings("allowed_policies_glob"), false);
  }
  if (fd.provided("disallowed_policies_glob")) {
    r.disallowed_policies_glob = lowered_unique(*fd.get_strings("disallowed_policies_glob"));
  }
  if (fd.provided("token_type")) {
    const std::string t = *fd.get_string("token_type");
    if (t == "batch" || t == "default-batch") {
      return reply::fail(400, "token_type \"" + t + "\" is not supported: credbroker issues service tokens only");
    }
    if (t != "service" && t != "default-service") return reply::fail(400, "invalid 'token_type' value \"" + t + "\"");
    r.token_type = t;
  }
  apply_ttl_pair(fd, "token_period", "period", r.token_period, r.period, warnings);
  apply_ttl_pair(fd, "token_explicit_max_ttl", "explicit_max_ttl", r.token_explicit_max_ttl, r.explicit_max_ttl, warnings);
  // token_bound_cidrs wins over the deprecated bound_cidrs; blocks or bare addresses, as Vault's ParseAddrs.
  for (const char* cidrs : {"bound_cidrs", "token_bound_cidrs"}) {
    if (!fd.provided(cidrs)) continue;
    std::vector<std::string> v = *fd.get_strings(cidrs);
    std::erase_if(v, [](const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; });
    if (auto parsed = parse_cidr_list(v, true); !parsed) {
      return reply::fail(400, "failed to validate CIDR blocks: " + parsed.err().message);
    }
    r.token_bound_cidrs = std::move(v);
  }
  if (fd.provided("token_num_uses")) {
    const auto n = *fd.get_int("token_num_uses");
    if (n < 0) return reply::fail(400, "error parsing role fields: token_num_uses cannot be negative");
    r.token_num_uses = n;
  }
  if (fd.provided("token_no_default_policy")) r.token_no_default_policy = *fd.get_bool("token_no_default_policy");
  if (fd.provided("allowed_entity_aliases")) r.allowed_entity_aliases = lowered_unique(*fd.get_strings("allowed_entity_aliases"));
  return std::nullopt;
}

reply write_role(token_role_store& roles, const request& req, const field_data& fd) {
  const std::string name = req.captures.at("role_name");
  auto existing = roles.get(name);
  if (!existing) return reply::fail(existing.err());
  token_role r = existing->value_or(token_role{});
  r.name = name;
  std::vector<std::string> warnings;
  if (auto refused = apply_fields(fd, r, warnings)) return *refused;
  if (auto s = roles.put(r); !s) return reply::fail(s.err());
  if (warnings.empty()) return reply::empty();
  reply out = reply::with_data(nullptr);
  out.warnings = std::move(warnings);
  return out;
}

// handleCreateAgainstRole: the role bounds policies, orphan, period, explicit max TTL, renewability,
// uses and the token's path.
reply create_against_role(auth::token_store& tokens, token_role_store& roles, request& req, const field_data& fd) {
  const std::string name = req.captures.at("role_name");
  auto loaded = roles.get(name);
  if (!loaded) return reply::fail(loaded.err());
  if (!loaded->has_value()) return reply::fail(400, "unknown role " + name);
  const token_role& role = **loaded;
  auth::token_request r;
  if (auto refused = read_token_request(fd, false, r)) return *refused;
  r.role = role.name;
  r.path = "auth/token/create/" + role.name + (role.path_suffix.empty() ? "" : "/" + role.path_suffix);
  r.no_parent = role.orphan;  // the request's no_parent does not count against a role
  r.orphan_allowed = role.orphan;
  r.renewable = r.renewable && role.renewable;
  if (role.token_num_uses > 0 && (r.num_uses == 0 || role.token_num_uses < r.num_uses)) r.num_uses = role.token_num_uses;
  r.no_default_policy = r.no_default_policy || role.token_no_default_policy;
  r.role_period = std::chrono::seconds(role.token_period);
  r.role_explicit_max_ttl = std::chrono::seconds(role.token_explicit_max_ttl);
  r.bound_cidrs = role.token_bound_cidrs;
  if (role.has_policy_lists()) {
    auto policies = auth::role_policies(role, r.policies.value_or(std::vector<std::string>{}), req.caller->policies,
                                        r.no_default_policy);
    if (!policies) return reply::fail(policies.err());
    r.policies = std::move(*policies);
    r.role_decided_policies = true;
  }
  return issued(tokens.create(&*req.caller, req.sudo, std::move(r)), true);
}

}  // namespace

void add_token_role_routes(std::vector<route>& routes, auth::token_store& tokens) {
  auto roles = std::make_shared<token_role_store>(tokens.storage());

  route list;
  list.pattern = "roles/";
  list.operations[operation::list] = [roles](request&, const field_data&) {
    auto names = roles->list();
    if (!names) return reply::fail(names.err());
    return reply::with_data({{"keys", *names}});
  };
  routes.push_back(std::move(list));

  route role;
  role.pattern = "roles/:role_name";
  role.fields = role_fields;
  role.exists = [roles](const request& req) {
    auto r = roles->get(req.captures.at("role_name"));
    return r && r->has_value();
  };
  role.operations[operation::read] = [roles](request& req, const field_data&) {
    auto r = roles->get(req.captures.at("role_name"));
    if (!r) return reply::fail(r.err());
    if (!r->has_value()) return reply::not_found();
    return reply::with_data(role_data(**r));
  };
  const handler write = [roles](request& req, const field_data& fd) { return write_role(*roles, req, fd); };
  role.operations[operation::create] = write;
  role.operations[operation::update] = write;
  role.operations[operation::remove] = [roles](request& req, const field_data&) {
    if (auto s = roles->remove(req.captures.at("role_name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  routes.push_back(std::move(role));

  route create;
  create.pattern = "create/:role_name";
  create.fields = token_create_fields;
  create.operations[operation::update] = [&tokens, roles](request& req, const field_data& fd) {
    return create_against_role(tokens, *roles, req, fd);
  };
  routes.push_back(std::move(create));
}

}  // namespace credbroker::api
