#pragma once
// mount_json: the mount tables as Vault's API shows them (sys/mounts, sys/auth, their :path and
// :path/tune reads, sys/internal/ui/mounts). The built-in mounts are added here: "sys/" to the
// secrets engines, "token/" to the auth methods. One entry:
//   {"type":"database","description":"","accessor":"database_3kQ9xL2a","uuid":"6f1c...",
//    "config":{"default_lease_ttl":0,"max_lease_ttl":0,"force_no_cache":false},"local":false,
//    "seal_wrap":false,"external_entropy_access":false,"options":null,"plugin_version":"",
//    "running_plugin_version":"builtin","running_sha256":"","deprecation_status":"supported"}
// A tune read gives the effective TTLs of a secrets engine (0s replaced by the server's) and the
// recorded ones of an auth method.
// Thread: reads the tables through their own locks.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/mounts/auth_mounts.hpp"
#include "broker/mounts/secret_mounts.hpp"

namespace credbroker::api {

nlohmann::json mount_table(const mounts::secret_mounts& m);
std::optional<nlohmann::json> describe_mount(const mounts::secret_mounts& m, const std::string& path);
std::optional<nlohmann::json> mount_tune_json(const mounts::secret_mounts& m, const std::string& path);

nlohmann::json mount_table(const mounts::auth_mounts& m);
std::optional<nlohmann::json> describe_mount(const mounts::auth_mounts& m, const std::string& path);
std::optional<nlohmann::json> mount_tune_json(const mounts::auth_mounts& m, const std::string& path);

}  // namespace credbroker::api
