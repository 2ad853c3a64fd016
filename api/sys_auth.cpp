// sys/auth, sys/auth/:path and sys/auth/:path/tune (Vault's logical_system.go auth handlers).
//   GET    sys/auth                 every auth method (+ data copied to the top level)
//   GET    sys/auth/approle         one of them
//   POST   sys/auth/approle         enable {"type":"approle"}
//   GET    sys/auth/approle/tune    its TTLs and description
//   POST   sys/auth/approle/tune    "" keeps a TTL, "system" resets it (never enables "approle/tune")
//   DELETE sys/auth/approle         disable (revokes the tokens it issued)
#include "api/mount_json.hpp"
#include "api/sys_routes.hpp"

namespace credbroker::api {
namespace {

bool strip_tune(const std::string& p, std::string& mount) {
  constexpr std::string_view suffix = "/tune";
  if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
    mount = p.substr(0, p.size() - suffix.size());
    return true;
  }
  return false;
}

reply top_level(nlohmann::json data) {
  reply r = reply::with_data(std::move(data));
  r.inject_top_level = true;
  return r;
}

}  // namespace

std::vector<route> sys_auth_routes(mounts::auth_mounts& mounts) {
  std::vector<route> out;
  route list;
  list.pattern = "auth";
  list.operations[operation::read] = [&mounts](request&, const field_data&) { return top_level(mount_table(mounts)); };
  out.push_back(std::move(list));

  route one;
  one.pattern = "auth/*path";
  one.sudo = true;
  one.fields = {{"path", field_type::string},        {"type", field_type::string},
                {"description", field_type::string}, {"config", field_type::map},
                {"options", field_type::map},        {"local", field_type::boolean},
                {"seal_wrap", field_type::boolean},  {"plugin_name", field_type::string},
                {"plugin_version", field_type::string}, {"external_entropy_access", field_type::boolean},
                {"default_lease_ttl", field_type::string}, {"max_lease_ttl", field_type::string},
                {"audit_non_hmac_request_keys", field_type::comma_slice},
                {"audit_non_hmac_response_keys", field_type::comma_slice}, {"listing_visibility", field_type::string},
                {"passthrough_request_headers", field_type::comma_slice},
                {"allowed_response_headers", field_type::comma_slice}, {"token_type", field_type::string},
                {"user_lockout_config", field_type::map}};
  one.operations[operation::read] = [&mounts](request& req, const field_data&) {
    std::string mount;
    if (strip_tune(req.captures.at("path"), mount)) {
      auto t = mount_tune_json(mounts, mount);
      if (!t) return reply::fail(400, "cannot fetch sysview for path \"auth/" + mount + "\"");
      return top_level(std::move(*t));
    }
    auto d = describe_mount(mounts, req.captures.at("path"));
    if (!d) return reply::fail(400, "No auth engine at auth/" + req.captures.at("path"));
    return top_level(std::move(*d));
  };
  one.operations[operation::update] = [&mounts](request& req, const field_data& fd) {
    std::string mount;
    if (strip_tune(req.captures.at("path"), mount)) {
      mounts::mount_tune t;
      auto d = parse_tune_ttl(fd.raw().value("default_lease_ttl", nlohmann::json(nullptr)));
      if (!d) return reply::fail(400, "invalid default_lease_ttl: " + d.err().message);
      auto m = parse_tune_ttl(fd.raw().value("max_lease_ttl", nlohmann::json(nullptr)));
      if (!m) return reply::fail(400, "invalid max_lease_ttl: " + m.err().message);
      t.default_ttl = *d;
      t.max_ttl = *m;
      if (fd.provided("description")) t.description = fd.get_string("description");
      if (auto s = mounts.tune(mount, t); !s) return reply::fail(s.err());
      return reply::empty();
    }
    std::string type = fd.get_string("type").value_or("");
    if (type.empty()) type = fd.get_string("plugin_name").value_or("");
    if (auto s = mounts.enable(req.captures.at("path"), type, fd.get_string("description").value_or("")); !s) {
      return reply::fail(s.err());
    }
    return reply::empty();
  };
  one.operations[operation::remove] = [&mounts](request& req, const field_data&) {
    if (auto s = mounts.disable(req.captures.at("path")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  out.push_back(std::move(one));
  return out;
}

}  // namespace credbroker::api
