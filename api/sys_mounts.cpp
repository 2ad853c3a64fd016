// sys/mounts, sys/mounts/:path, sys/mounts/:path/tune, sys/remount[/status/:id] and
// sys/internal/ui/mounts[/:path] (vault-api.md §4.3; Vault's logical_system.go handlers).
//
//   GET    sys/mounts                  every secrets engine (+ data copied to the top level)
//   GET    sys/mounts/database         one of them; sys/mounts/auth/approle answers the auth method
//   POST   sys/mounts/database         enable
//   GET    sys/mounts/database/tune    the effective TTLs
//   POST   sys/mounts/database/tune    "" keeps a TTL, "system" resets it (the CLI sends both)
//   DELETE sys/mounts/database         disable (revokes its leases first)
//   POST   sys/remount {"from","to"}   move an empty mount; answers a migration id
//   GET    sys/remount/status/:id      {"migration_id", "migration_info": {..., "status"}}
//   GET    sys/internal/ui/mounts[/p]  the mounts the token may use (consul-template and Agent ask
//                                      it for the KV version of a path); no token: none
#include <map>
#include <mutex>

#include "api/mount_json.hpp"
#include "api/sys_routes.hpp"
#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {

constexpr std::string_view tune_suffix = "/tune";

bool strip_tune(const std::string& p, std::string& mount) {
  if (p.size() > tune_suffix.size() && p.compare(p.size() - tune_suffix.size(), tune_suffix.size(), tune_suffix) == 0) {
    mount = p.substr(0, p.size() - tune_suffix.size());
    return true;
  }
  return false;
}

bool under_auth(const std::string& p, std::string& rest) {
  if (p.rfind("auth/", 0) == 0) {
    rest = p.substr(5);
    return true;
  }
  return false;
}

// The tune fields of a POST .../tune body (or of an enable's "config" object).
result<mounts::mount_tune> tune_of(const nlohmann::json& raw, const field_data* fd) {
  mounts::mount_tune t;
  auto d = parse_tune_ttl(raw.value("default_lease_ttl", nlohmann::json(nullptr)));
  if (!d) return make_error(errc::invalid_request, "invalid default_lease_ttl: " + d.err().message);
  auto m = parse_tune_ttl(raw.value("max_lease_ttl", nlohmann::json(nullptr)));
  if (!m) return make_error(errc::invalid_request, "invalid max_lease_ttl: " + m.err().message);
  t.default_ttl = *d;
  t.max_ttl = *m;
  if (fd != nullptr && fd->provided("description")) t.description = fd->get_string("description");
  return t;
}

const std::vector<field_spec> mount_fields = {
    {"path", field_type::string},          {"type", field_type::string},          {"description", field_type::string},
    {"config", field_type::map},           {"options", field_type::map},          {"local", field_type::boolean},
    {"seal_wrap", field_type::boolean},    {"plugin_name", field_type::string},   {"plugin_version", field_type::string},
    {"external_entropy_access", field_type::boolean},
    {"default_lease_ttl", field_type::string}, {"max_lease_ttl", field_type::string},
    {"force_no_cache", field_type::boolean}, {"audit_non_hmac_request_keys", field_type::comma_slice},
    {"audit_non_hmac_response_keys", field_type::comma_slice}, {"listing_visibility", field_type::string},
    {"passthrough_request_headers", field_type::comma_slice}, {"allowed_response_headers", field_type::comma_slice},
    {"token_type", field_type::string}, {"user_lockout_config", field_type::map}};

reply top_level(nlohmann::json data) {
  reply r = reply::with_data(std::move(data));
  r.inject_top_level = true;
  return r;
}

// Migrations finished by sys/remount, for sys/remount/status/:id (kept in memory, as Vault's).
struct migrations {
  std::mutex mu;  // guards by_id
  std::map<std::string, nlohmann::json> by_id;
};

}  // namespace

std::vector<route> sys_mount_routes(mounts::secret_mounts& mounts, mounts::auth_mounts* auth) {
  std::vector<route> out;
  route list;
  list.pattern = "mounts";
  list.operations[operation::read] = [&mounts](request&, const field_data&) { return top_level(mount_table(mounts)); };
  out.push_back(std::move(list));

  route one;
  one.pattern = "mounts/*path";
  one.fields = mount_fields;
  one.warn_unknown_fields = false;  // node-vault sends its mount_point in the body
  one.operations[operation::read] = [&mounts, auth](request& req, const field_data&) {
    std::string path = req.captures.at("path"), mount, rest;
    const bool tune = strip_tune(path, mount);
    if (!tune) mount = path;
    std::optional<nlohmann::json> found;
    if (under_auth(mount, rest) && auth != nullptr) {
      found = tune ? mount_tune_json(*auth, rest) : describe_mount(*auth, rest);
    } else {
      found = tune ? mount_tune_json(mounts, mount) : describe_mount(mounts, mount);
    }
    if (!found) {
      if (tune) return reply::fail(400, "cannot fetch sysview for path \"" + mount + "\"");
      return reply::fail(400, "No secret engine mount at " + mount);
    }
    return top_level(std::move(*found));
  };
  one.operations[operation::update] = [&mounts, auth](request& req, const field_data& fd) {
    std::string mount, rest;
    if (strip_tune(req.captures.at("path"), mount)) {
      auto t = tune_of(fd.raw(), &fd);
      if (!t) return reply::fail(t.err());
      const status s = under_auth(mount, rest) && auth != nullptr ? auth->tune(rest, *t) : mounts.tune(mount, *t);
      if (!s) return reply::fail(s.err());
      return reply::empty();
    }
    std::string type = fd.get_string("type").value_or("");
    if (type.empty()) type = fd.get_string("plugin_name").value_or("");
    std::chrono::seconds dttl{0}, mttl{0};
    if (auto cfg = fd.get_json("config"); cfg && cfg->is_object()) {
      auto t = tune_of(*cfg, nullptr);
      if (!t) return reply::fail(t.err());
      dttl = t->default_ttl.value_or(std::chrono::seconds(0));
      mttl = t->max_ttl.value_or(std::chrono::seconds(0));
    }
    if (auto s = mounts.enable(req.captures.at("path"), type, fd.get_string("description").value_or(""), dttl, mttl); !s) {
      return reply::fail(s.err());
    }
    return reply::empty();
  };
  one.operations[operation::remove] = [&mounts](request& req, const field_data&) {
    if (auto s = mounts.disable(req.captures.at("path")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  out.push_back(std::move(one));

  auto done = std::make_shared<migrations>();
  route remount;
  remount.pattern = "remount";
  remount.sudo = true;
  remount.fields = {{"from", field_type::string}, {"to", field_type::string}};
  remount.operations[operation::update] = [&mounts, done](request&, const field_data& fd) {
    const std::string from = fd.get_string("from").value_or(""), to = fd.get_string("to").value_or("");
    if (from.empty() || to.empty()) return reply::fail(400, "both 'from' and 'to' path must be specified as a string");
    std::string rest;
    if (under_auth(from, rest) || under_auth(to, rest)) {
      return reply::fail(400, "moving auth methods is not supported by credbroker (their tokens name the mount)");
    }
    if (auto s = mounts.remount(from, to); !s) return reply::fail(s.err());
    const std::string id = random_uuid();
    std::lock_guard lock(done->mu);
    done->by_id[id] = {{"source_mount", from}, {"target_mount", to}, {"status", "success"}};
    return reply::with_data({{"migration_id", id}});
  };
  out.push_back(std::move(remount));

  route status;
  status.pattern = "remount/status/:migration_id";
  status.fields = {{"migration_id", field_type::string}};
  status.operations[operation::read] = [done](request& req, const field_data&) {
    const std::string id = req.captures.at("migration_id");
    std::lock_guard lock(done->mu);
    auto it = done->by_id.find(id);
    if (it == done->by_id.end()) return reply::not_found();
    return reply::with_data({{"migration_id", id}, {"migration_info", it->second}});
  };
  out.push_back(std::move(status));
  return out;
}

std::vector<route> sys_internal_ui_routes(mounts::secret_mounts* mounts, mounts::auth_mounts* auth, auth::authenticator& authn,
                                          auth::policy_store* policies) {
  // Who may see a mount: root sees all; another token a mount where its policies grant anything on
  // the mount's path or on the path it asked about (Vault walks every rule under the mount).
  auto visible = [policies](const auth::identity& who, const std::string& mount_path, const std::string& asked) {
    if (who.is_root()) return true;
    if (policies == nullptr) return false;
    auto acl = policies->acl_for(who.policies);
    if (!acl) return false;
    return (*acl)->capabilities(mount_path) != 0 || (*acl)->capabilities(asked) != 0;
  };
  std::vector<route> out;
  route all;
  all.pattern = "internal/ui/mounts";
  all.unauthenticated = true;  // as Vault's; without a token it lists no mount (none is "unauth")
  all.operations[operation::read] = [mounts, auth, &authn, visible](request& req, const field_data&) {
    nlohmann::json secret = nlohmann::json::object(), methods = nlohmann::json::object();
    if (auto who = req.token.empty() ? std::nullopt : authn.authenticate_from(req.token, req.client_address).caller) {
      const nlohmann::json engines = mounts != nullptr ? mount_table(*mounts) : nlohmann::json::object();
      for (const auto& [path, info] : engines.items()) {
        if (visible(*who, path, path)) secret[path] = info;
      }
      const nlohmann::json auths = auth != nullptr ? mount_table(*auth) : nlohmann::json::object();
      for (const auto& [path, info] : auths.items()) {
        if (visible(*who, "auth/" + path, "auth/" + path)) methods[path] = info;
      }
    }
    return reply::with_data({{"secret", secret}, {"auth", methods}});
  };
  out.push_back(std::move(all));

  route one;
  one.pattern = "internal/ui/mounts/*path";
  one.unauthenticated = true;
  one.fields = {{"path", field_type::string}};
  one.operations[operation::read] = [mounts, auth, &authn, visible](request& req, const field_data&) {
    const std::string asked = req.captures.at("path");
    if (asked.empty()) return reply::fail(400, "path not set");
    const auto who = req.token.empty() ? std::nullopt : authn.authenticate_from(req.token, req.client_address).caller;
    if (!who) return reply::fail(403, multierror_text("permission denied"));
    const reply denied = reply::fail(
        403, "preflight capability check returned 403, please ensure client's policies grant access to path \"" + asked + "/\"");
    std::optional<nlohmann::json> info;
    std::string path, rest;
    std::string shown;  // Vault answers an auth method's path without "auth/"
    if (under_auth(asked, rest) && auth != nullptr) {
      shown = auth->mount_of(rest);
      if (!shown.empty()) info = describe_mount(*auth, shown);
      path = "auth/" + shown;
    } else if (mounts != nullptr) {
      path = shown = mounts->mount_of(asked);
      if (!path.empty()) info = describe_mount(*mounts, path);
    }
    if (!info || !visible(*who, path, asked)) return denied;
    (*info)["path"] = shown;
    return reply::with_data(std::move(*info));
  };
  out.push_back(std::move(one));
  return out;
}

}  // namespace credbroker::api
