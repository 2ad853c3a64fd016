#include "api/mount_json.hpp"

#include "broker/mounts/mount_path.hpp"

namespace credbroker::api {
namespace {

const char* const system_description = "system endpoints used for control, policy and debugging";

const mounts::mount_entry& system_mount() {
  static const mounts::mount_entry e{"sys/", "system", system_description, "system_builtin",
                                     "00000000-0000-0000-0000-000000000001", 0, 0};
  return e;
}

const mounts::mount_entry& token_method() {
  static const mounts::mount_entry e{"token/", "token", "token based credentials", mounts::auth_mounts::token_accessor,
                                     mounts::auth_mounts::token_uuid, 0, 0};
  return e;
}

nlohmann::json describe_entry(const mounts::mount_entry& e, bool auth_method) {
  nlohmann::json config = {{"default_lease_ttl", e.default_ttl}, {"max_lease_ttl", e.max_ttl}, {"force_no_cache", false}};
  if (auth_method) config["token_type"] = "default-service";
  const bool builtin_system = e.type == "system";
  return nlohmann::json{{"type", e.type},
                        {"description", e.description},
                        {"accessor", e.accessor},
                        {"uuid", e.uuid},
                        {"config", std::move(config)},
                        {"local", false},
                        {"seal_wrap", false},
                        {"external_entropy_access", false},
                        {"options", nullptr},
                        {"plugin_version", ""},
                        {"running_plugin_version", builtin_system ? "" : "builtin"},
                        {"running_sha256", ""},
                        {"deprecation_status", builtin_system ? "" : "supported"}};
}

// A table's JSON with its built-in mount first, and one entry of it (the built-in one included).
template <class Table>
nlohmann::json table_json(const Table& m, const mounts::mount_entry& builtin, bool auth_method) {
  nlohmann::json out = nlohmann::json::object();
  out[builtin.path] = describe_entry(builtin, auth_method);
  for (const auto& [path, e] : m.rows()) out[path] = describe_entry(e, auth_method);
  return out;
}

template <class Table>
std::optional<nlohmann::json> entry_json(const Table& m, const std::string& path, const mounts::mount_entry& builtin,
                                         bool auth_method) {
  if (mounts::normalise_mount_path(path) == builtin.path) return describe_entry(builtin, auth_method);
  auto e = m.find(path);
  if (!e) return std::nullopt;
  return describe_entry(*e, auth_method);
}
}  // namespace

nlohmann::json mount_table(const mounts::secret_mounts& m) { return table_json(m, system_mount(), false); }

std::optional<nlohmann::json> describe_mount(const mounts::secret_mounts& m, const std::string& path) {
  return entry_json(m, path, system_mount(), false);
}

std::optional<nlohmann::json> mount_tune_json(const mounts::secret_mounts& m, const std::string& path) {
  auto e = m.find(path);
  auto l = m.limits_of(path);
  if (!e || !l) return std::nullopt;
  return nlohmann::json{{"default_lease_ttl", l->default_ttl.count()}, {"max_lease_ttl", l->max_ttl.count()},
                        {"force_no_cache", false}, {"description", e->description}};
}

nlohmann::json mount_table(const mounts::auth_mounts& m) { return table_json(m, token_method(), true); }

std::optional<nlohmann::json> describe_mount(const mounts::auth_mounts& m, const std::string& path) {
  return entry_json(m, path, token_method(), true);
}

std::optional<nlohmann::json> mount_tune_json(const mounts::auth_mounts& m, const std::string& path) {
  auto d = describe_mount(m, path);
  if (!d) return std::nullopt;
  return nlohmann::json{{"default_lease_ttl", (*d)["config"]["default_lease_ttl"]},
                        {"max_lease_ttl", (*d)["config"]["max_lease_ttl"]},
                        {"force_no_cache", false},
                        {"description", (*d)["description"]},
                        {"token_type", "default-service"}};
}

}  // namespace credbroker::api
