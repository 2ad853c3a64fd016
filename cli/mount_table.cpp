#include "cli/mount_table.hpp"

#include "broker/core/duration.hpp"
#include "cli/table.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

result<json> options_of(const invocation& inv) {
  json options = json::object();
  for (const auto& kv : inv.flags.all("options")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return make_error(errc::invalid_request, "invalid value \"" + kv + "\" for flag -options: missing =");
    options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return options;
}

// Adds key = "<go duration>" when the flag was given (0 included: "0s" means the system default).
status add_ttl(const invocation& inv, const char* flag, const char* key, json& into) {
  if (!inv.flags.has(flag)) return ok_v;
  auto d = duration_flag(inv, flag);
  if (!d) return std::move(d).err();
  into[key] = format_go_duration(*d);
  return ok_v;
}

std::string ttl_cell(const std::string& type, const json& config, const char* key) {
  if (type == "system") return "";
  const std::int64_t ttl = config.is_object() ? config.value(key, std::int64_t{0}) : 0;
  return ttl != 0 ? std::to_string(ttl) : "system";
}

std::string text_of(const json& m, const char* key) {
  const auto it = m.find(key);
  if (it == m.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : value_text(*it);
}

}  // namespace

std::vector<flag_spec> mount_enable_flags(bool with_force_no_cache) {
  std::vector<flag_spec> out = {
      {"path", true, "PATH", "Where to mount it (default: the type's name)."},
      {"description", true, "TEXT", "A human-friendly description."},
      {"default-lease-ttl", true, "DURATION", "Default lease TTL of the mount (default: the server's)."},
      {"max-lease-ttl", true, "DURATION", "Maximum lease TTL of the mount (default: the server's)."},
      {"local", false, "", "Do not replicate the mount (kept for the vault CLI's flag set)."},
      {"seal-wrap", false, "", "Seal-wrap the mount's storage (kept for the vault CLI's flag set)."},
      {"options", true, "K=V", "A mount option (repeatable).", {}, true}};
  if (with_force_no_cache) out.push_back({"force-no-cache", false, "", "Never cache this mount's responses."});
  return out;
}

std::vector<flag_spec> mount_tune_flags() {
  return {{"description", true, "TEXT", "A new description."},
          {"default-lease-ttl", true, "DURATION", "New default lease TTL (0: the server's)."},
          {"max-lease-ttl", true, "DURATION", "New maximum lease TTL (0: the server's)."}};
}

result<json> mount_enable_body(const invocation& inv, const std::string& type) {
  json config = json::object();
  if (auto s = add_ttl(inv, "default-lease-ttl", "default_lease_ttl", config); !s) return std::move(s).err();
  if (auto s = add_ttl(inv, "max-lease-ttl", "max_lease_ttl", config); !s) return std::move(s).err();
  if (inv.flags.flag("force-no-cache")) config["force_no_cache"] = true;
  auto options = options_of(inv);
  if (!options) return std::move(options).err();
  json body = {{"type", type}, {"description", inv.flags.value("description")}, {"config", config},
               {"local", inv.flags.flag("local")}, {"seal_wrap", inv.flags.flag("seal-wrap")}};
  if (!options->empty()) body["options"] = *options;
  return body;
}

result<json> mount_tune_body(const invocation& inv) {
  json body = json::object();
  if (auto s = add_ttl(inv, "default-lease-ttl", "default_lease_ttl", body); !s) return std::move(s).err();
  if (auto s = add_ttl(inv, "max-lease-ttl", "max_lease_ttl", body); !s) return std::move(s).err();
  if (inv.flags.has("description")) body["description"] = inv.flags.value("description");
  return body;
}

json mounts_of(const json& reply) {
  if (reply.contains("data") && reply["data"].is_object()) return reply["data"];
  json out = json::object();
  for (auto it = reply.begin(); it != reply.end(); ++it) {
    if (it.key().back() == '/' && it->is_object()) out[it.key()] = *it;
  }
  return out;
}

std::string mount_table(const json& mounts, bool detailed) {
  std::vector<table_row> rows;
  for (auto it = mounts.begin(); it != mounts.end(); ++it) {
    const json& m = *it;
    const std::string type = text_of(m, "type");
    if (!detailed) {
      rows.push_back({it.key(), type, text_of(m, "accessor"), text_of(m, "description")});
      continue;
    }
    const json config = m.value("config", json::object());
    rows.push_back({it.key(), type, text_of(m, "accessor"), ttl_cell(type, config, "default_lease_ttl"),
                    ttl_cell(type, config, "max_lease_ttl"), m.value("local", false) ? "local" : "replicated",
                    m.value("seal_wrap", false) ? "true" : "false", value_text(m.value("options", json())),
                    text_of(m, "description"), text_of(m, "uuid")});
  }
  if (!detailed) return table_output({"Path", "Type", "Accessor", "Description"}, rows);
  return table_output({"Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Replication", "Seal Wrap", "Options",
                       "Description", "UUID"},
                      rows);
}

}  // namespace credbroker::cli
