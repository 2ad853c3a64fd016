#include "broker/engine/role_store.hpp"

#include "broker/engine/record_codec.hpp"

namespace credbroker::engine {

role_store::role_store(storage::physical& store, connections& conns, static_role_store& statics,
                       const std::string& prefix)
    : conns_(conns), statics_(statics), roles_(store, prefix + "role/", "role", role_from_json) {}

result<std::optional<role>> role_store::read(const std::string& name) {
  auto r = find(name);
  if (!r) return std::move(r).err();
  if (!*r) return std::optional<role>();
  return std::optional<role>(**r);
}

result<std::vector<std::string>> role_store::write(role r) {
  if (r.db_name.empty()) return make_error(errc::invalid_request, "database name is required");
  if (auto st = statics_.load(r.name); st && st->has_value()) {
    return make_error(errc::invalid_request, "Role and Static Role names must be unique");
  }
  if (r.credential_type.empty()) r.credential_type = "password";
  if (r.credential_type != "password" && r.credential_type != "rsa_private_key" && r.credential_type != "client_certificate") {
    return make_error(errc::invalid_request, "invalid credential_type \"" + r.credential_type + "\"");
  }
  auto strip = [](std::vector<std::string>& v) {
    std::erase_if(v, [](const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; });
  };
  strip(r.creation_statements);
  strip(r.revocation_statements);
  strip(r.rollback_statements);
  strip(r.renew_statements);
  if (auto s = roles_.put(r.name, role_to_json(r).dump(), r); !s) return std::move(s).err();
  std::vector<std::string> warnings;
  conns_.add_policy_warnings(r.db_name, r.credential_config, warnings);
  return warnings;
}

status role_store::remove(const std::string& name) { return roles_.erase(name); }

result<std::vector<std::string>> role_store::list() { return roles_.names(); }

}  // namespace credbroker::engine
