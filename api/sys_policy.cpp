// ACL policy routes (vault-api.md §4.5): the current sys/policies/acl and the legacy sys/policy that
// hvac 0.11.2 and node-vault use (field "rules", data also copied to the top level), and
// sys/capabilities[-self|-accessor].
#include "api/sys_routes.hpp"

#include <algorithm>

#include "broker/core/encoding.hpp"

namespace credbroker::api {
namespace {

// Vault accepts the policy text base64-encoded too.
std::string policy_text(const std::string& given) {
  if (given.find_first_of("{\"\n #") != std::string::npos) return given;
  auto decoded = base64_decode(given);
  if (decoded && !decoded->empty()) return *decoded;
  return given;
}

reply list_reply(auth::policy_store& store, bool legacy) {
  auto names = store.list();
  if (!names) return reply::fail(names.err());
  if (!legacy) return reply::with_data({{"keys", *names}});
  reply r = reply::with_data({{"keys", *names}, {"policies", *names}});
  r.inject_top_level = true;
  return r;
}

route policy_route(auth::policy_store& store, std::string pattern, bool legacy) {
  route r;
  r.pattern = std::move(pattern);
  r.fields = {{"name", field_type::string}, {"policy", field_type::string}, {"rules", field_type::string}};
  r.exists = [&store](const request& req) {
    auto p = store.get(req.captures.at("name"));
    return p && p->has_value();
  };
  r.operations[operation::read] = [&store, legacy](request& req, const field_data&) {
    const std::string name = auth::policy_store::normalise(req.captures.at("name"));
    auto p = store.get(name);
    if (!p) return reply::fail(p.err());
    if (!p->has_value()) return reply::not_found();
    nlohmann::json data = {{"name", name}, {legacy ? "rules" : "policy", (**p)->raw}};
    reply out = reply::with_data(std::move(data));
    out.inject_top_level = legacy;
    return out;
  };
  r.operations[operation::update] = [&store](request& req, const field_data& fd) {
    std::string text = fd.get_string("policy").value_or("");
    if (text.empty()) text = fd.get_string("rules").value_or("");
    if (text.empty()) return reply::fail(400, "'policy' parameter not supplied or empty");
    if (auto s = store.put(req.captures.at("name"), policy_text(text)); !s) return reply::fail(s.err());
    return reply::empty();
  };
  r.operations[operation::remove] = [&store](request& req, const field_data&) {
    if (auto s = store.remove(req.captures.at("name")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  return r;
}

std::vector<std::string> paths_of(const field_data& fd) {
  auto paths = fd.get_strings("paths").value_or(std::vector<std::string>{});
  if (auto p = fd.get_string("path"); p && !p->empty()) paths.push_back(*p);
  return paths;
}

reply capabilities_reply(auth::policy_store& store, const std::vector<std::string>& policies,
                         const std::vector<std::string>& paths) {
  if (paths.empty()) return reply::fail(400, "paths must be supplied");
  auto acl = store.acl_for(policies);
  if (!acl) return reply::fail(acl.err());
  nlohmann::json data = nlohmann::json::object();
  for (const auto& raw : paths) {
    std::string path = raw;
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    std::vector<std::string> caps;
    if ((*acl)->is_root()) {
      caps = {"root"};
    } else {
      caps = auth::capability_names((*acl)->capabilities(path));
    }
    std::sort(caps.begin(), caps.end());  // Vault's Core.Capabilities sorts them
    data[raw] = caps;
  }
  // Vault's backward-compatible key, only when one path was asked.
  if (paths.size() == 1) data["capabilities"] = data[paths.front()];
  reply r = reply::with_data(std::move(data));
  r.inject_top_level = true;
  return r;
}

}  // namespace

std::vector<route> sys_policy_routes(auth::policy_store& store) {
  std::vector<route> out;
  for (const char* p : {"policy", "policy/"}) {
    route list;
    list.pattern = p;
    auto h = [&store](request&, const field_data&) { return list_reply(store, true); };
    list.operations[operation::read] = h;
    list.operations[operation::list] = h;
    out.push_back(std::move(list));
  }
  out.push_back(policy_route(store, "policy/:name", true));
  route acl_list;
  acl_list.pattern = "policies/acl/";
  acl_list.operations[operation::list] = [&store](request&, const field_data&) { return list_reply(store, false); };
  out.push_back(std::move(acl_list));
  out.push_back(policy_route(store, "policies/acl/:name", false));
  return out;
}

std::vector<route> sys_capabilities_routes(auth::policy_store& store, auth::token_store& tokens) {
  std::vector<route> out;
  const std::vector<field_spec> fields = {{"path", field_type::string},
                                          {"paths", field_type::comma_slice},
                                          {"token", field_type::string},
                                          {"accessor", field_type::string}};
  route self;
  self.pattern = "capabilities-self";
  self.fields = fields;
  self.operations[operation::update] = [&store](request& req, const field_data& fd) {
    return capabilities_reply(store, req.caller->policies, paths_of(fd));
  };
  out.push_back(std::move(self));

  route other;
  other.pattern = "capabilities";
  other.fields = fields;
  other.operations[operation::update] = [&store, &tokens](request&, const field_data& fd) {
    auto t = tokens.lookup(secret(fd.get_string("token").value_or("")));
    if (!t) return reply::fail(t.err());
    return capabilities_reply(store, t->policies, paths_of(fd));
  };
  out.push_back(std::move(other));

  route by_accessor;
  by_accessor.pattern = "capabilities-accessor";
  by_accessor.fields = fields;
  by_accessor.operations[operation::update] = [&store, &tokens](request&, const field_data& fd) {
    auto t = tokens.lookup_accessor(fd.get_string("accessor").value_or(""));
    if (!t) return reply::fail(t.err());
    return capabilities_reply(store, t->policies, paths_of(fd));
  };
  out.push_back(std::move(by_accessor));
  return out;
}

}  // namespace credbroker::api
