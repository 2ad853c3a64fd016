#include "broker/engine/record_codec.hpp"

#include "broker/core/duration.hpp"

namespace credbroker::engine {
namespace {

using std::chrono::seconds;

std::int64_t ms(time_point t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(); }
time_point from_ms(std::int64_t v) { return time_point{std::chrono::milliseconds{v}}; }

}  // namespace

nlohmann::json rotation_to_json(const rotation_state& r) {
  return {{"period", r.period.count()}, {"schedule", r.schedule},  {"window", r.window.count()},
          {"last", ms(r.last)},         {"next", ms(r.next)},      {"attempts", r.attempts},
          {"error", r.last_error},      {"next_attempt", ms(r.next_attempt)}, {"disabled", r.disabled}};
}

rotation_state rotation_from_json(const nlohmann::json& j) {
  rotation_state r;
  if (!j.is_object()) return r;
  r.period = seconds(j.value("period", std::int64_t{0}));
  r.schedule = j.value("schedule", "");
  r.window = seconds(j.value("window", std::int64_t{0}));
  r.last = from_ms(j.value("last", std::int64_t{0}));
  r.next = from_ms(j.value("next", std::int64_t{0}));
  r.attempts = j.value("attempts", 0);
  r.last_error = j.value("error", "");
  r.next_attempt = from_ms(j.value("next_attempt", std::int64_t{0}));
  r.disabled = j.value("disabled", false);
  return r;
}

nlohmann::json config_to_json(const connection_config& c) {
  return {{"name", c.name},
          {"plugin_name", c.plugin_name},
          {"plugin_version", c.plugin_version},
          {"verify_connection", c.verify_connection},
          {"allowed_roles", c.allowed_roles},
          {"root_credentials_rotate_statements", c.root_rotation_statements},
          {"password_policy", c.password_policy},
          {"skip_static_role_import_rotation", c.skip_static_role_import_rotation},
          {"connection_details", c.details},
          {"root_rotation", rotation_to_json(c.root_rotation)}};
}

std::optional<connection_config> config_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    connection_config c;
    c.name = j.value("name", "");
    c.plugin_name = j.value("plugin_name", "");
    c.plugin_version = j.value("plugin_version", "");
    c.verify_connection = j.value("verify_connection", true);
    c.allowed_roles = j.value("allowed_roles", std::vector<std::string>{});
    c.root_rotation_statements = j.value("root_credentials_rotate_statements", std::vector<std::string>{});
    c.password_policy = j.value("password_policy", "");
    c.skip_static_role_import_rotation = j.value("skip_static_role_import_rotation", false);
    c.details = j.value("connection_details", nlohmann::json::object());
    c.root_rotation = rotation_from_json(j.value("root_rotation", nlohmann::json::object()));
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json role_to_json(const role& r) {
  return {{"name", r.name},
          {"db_name", r.db_name},
          {"default_ttl", r.default_ttl.count()},
          {"max_ttl", r.max_ttl.count()},
          {"creation_statements", r.creation_statements},
          {"revocation_statements", r.revocation_statements},
          {"rollback_statements", r.rollback_statements},
          {"renew_statements", r.renew_statements},
          {"credential_type", r.credential_type},
          {"credential_config", r.credential_config}};
}

std::optional<role> role_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    role r;
    r.name = j.value("name", "");
    r.db_name = j.value("db_name", "");
    r.default_ttl = seconds(j.value("default_ttl", std::int64_t{0}));
    r.max_ttl = seconds(j.value("max_ttl", std::int64_t{0}));
    r.creation_statements = j.value("creation_statements", std::vector<std::string>{});
    r.revocation_statements = j.value("revocation_statements", std::vector<std::string>{});
    r.rollback_statements = j.value("rollback_statements", std::vector<std::string>{});
    r.renew_statements = j.value("renew_statements", std::vector<std::string>{});
    r.credential_type = j.value("credential_type", "password");
    r.credential_config = j.value("credential_config", nlohmann::json::object());
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json static_role_to_json(const static_role& r) {
  return {{"name", r.name},
          {"db_name", r.db_name},
          {"username", r.username},
          {"rotation_statements", r.rotation_statements},
          {"credential_type", r.credential_type},
          {"credential_config", r.credential_config},
          {"password", r.password.reveal()},
          {"rotation", rotation_to_json(r.rotation)}};
}

std::optional<static_role> static_role_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    static_role r;
    r.name = j.value("name", "");
    r.db_name = j.value("db_name", "");
    r.username = j.value("username", "");
    r.rotation_statements = j.value("rotation_statements", std::vector<std::string>{});
    r.credential_type = j.value("credential_type", "password");
    r.credential_config = j.value("credential_config", nlohmann::json::object());
    r.password = secret(j.value("password", ""));
    r.rotation = rotation_from_json(j.value("rotation", nlohmann::json::object()));
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::optional<std::pair<std::size_t, std::size_t>> literal_url_password(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  const auto start = scheme + 3;
  const auto at = url.find('@', start);
  const auto slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return std::nullopt;
  const auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return std::nullopt;
  const std::string userinfo = url.substr(start, at - start);
  if (userinfo.find('{') != std::string::npos) return std::nullopt;  // templated: Go's URL parser gives up too
  if (colon + 1 == at) return std::nullopt;
  return std::make_pair(colon + 1, at - colon - 1);
}

nlohmann::json redacted_config(const connection_config& c) {
  nlohmann::json details = c.details;
  for (const char* k : {"password", "private_key", "service_account_json"}) details.erase(k);
  if (auto url = details.find("connection_url"); url != details.end() && url->is_string()) {
    std::string u = url->get<std::string>();
    if (auto span = literal_url_password(u)) {
      u.replace(span->first, span->second, "xxxxx");
      *url = u;
    }
  }
  nlohmann::json out = {{"plugin_name", c.plugin_name},
                        {"plugin_version", c.plugin_version},
                        {"connection_details", details},
                        {"allowed_roles", c.allowed_roles},
                        {"root_credentials_rotate_statements", c.root_rotation_statements},
                        {"password_policy", c.password_policy},
                        {"verify_connection", c.verify_connection},
                        {"skip_static_role_import_rotation", c.skip_static_role_import_rotation}};
  // Root rotation, with Vault's field names (credbroker's earlier root_rotation_* too; see
  // docs/rotation.md), and when it ran and runs next.
  const rotation_state& r = c.root_rotation;
  out["rotation_period"] = r.period.count();
  out["rotation_schedule"] = r.schedule;
  out["rotation_window"] = r.window.count();
  out["disable_automated_rotation"] = r.disabled;
  if (r.period.count() > 0) out["root_rotation_period"] = r.period.count();
  if (!r.schedule.empty()) out["root_rotation_schedule"] = r.schedule;
  out["last_root_rotation"] = r.last == time_point{} ? nlohmann::json(nullptr) : nlohmann::json(format_rfc3339_nano(r.last));
  out["next_root_rotation"] = r.next == time_point{} ? nlohmann::json(nullptr) : nlohmann::json(format_rfc3339_nano(r.next));
  if (!r.last_error.empty()) {
    out["root_rotation_error"] = r.last_error;
    out["root_rotation_next_attempt"] = format_rfc3339_nano(r.next_attempt);
  }
  return out;
}

}  // namespace credbroker::engine
