#include "broker/config/server_config.hpp"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "broker/core/cidr.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::config {
namespace {

error bad(const std::string& key, const std::string& expected, const nlohmann::json& got) {
  return make_error(errc::invalid_request,
                    key + ": expected " + expected + ", got " + got.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

status only_keys(const nlohmann::json& obj, const std::string& where, const std::set<std::string>& known) {
  for (const auto& [k, _] : obj.items()) {
    if (!known.contains(k)) {
      std::string list;
      for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
      const std::string path = where.empty() ? k : where + "." + k;
      return make_error(errc::invalid_request, "unknown key \"" + path + "\"; expected one of: " + list);
    }
  }
  return ok_v;
}

status get_string(const nlohmann::json& obj, const std::string& where, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_v;
  if (!it->is_string()) return bad(where + key, "a string", *it);
  out = it->get<std::string>();
  return ok_v;
}

status get_bool(const nlohmann::json& obj, const std::string& where, const char* key, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_v;
  if (it->is_boolean()) {
    out = it->get<bool>();
    return ok_v;
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "true" || s == "1") {
      out = true;
      return ok_v;
    }
    if (s == "false" || s == "0") {
      out = false;
      return ok_v;
    }
  }
  return bad(where + key, "true or false", *it);
}

status get_duration(const nlohmann::json& obj, const std::string& where, const char* key, std::chrono::seconds& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_v;
  auto d = parse_duration_value(*it);
  if (!d) return bad(where + key, "a duration such as \"30s\", \"5m\", \"768h\" or a number of seconds", *it);
  out = *d;
  return ok_v;
}

status get_uint(const nlohmann::json& obj, const std::string& where, const char* key, unsigned long long max,
                unsigned long long& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_v;
  if (it->is_number_integer() && it->get<long long>() >= 0 &&
      static_cast<unsigned long long>(it->get<long long>()) <= max) {
    out = static_cast<unsigned long long>(it->get<long long>());
    return ok_v;
  }
  return bad(where + key, "a whole number from 0 to " + std::to_string(max), *it);
}

// Vault allows a block to be an object or a one-element array of objects.
result<nlohmann::json> single_block(const nlohmann::json& v, const std::string& key) {
  if (v.is_array() && v.size() == 1 && v[0].is_object()) return v[0];
  if (v.is_object()) return v;
  return bad(key, "an object", v);
}

// storage.postgresql: Vault's keys. max_parallel may be a number or a numeric string (Vault's HCL).
status parse_postgresql_storage(const nlohmann::json& settings, storage_config& out) {
  const std::string w = "storage.postgresql.";
  if (auto s = only_keys(settings, "storage.postgresql", {"connection_url", "table", "max_parallel", "ha_enabled", "ha_table",
                                                              "ha_lock_ttl"});
      !s) {
    return s;
  }
  std::string url;
  if (auto s = get_string(settings, w, "connection_url", url); !s) return s;
  if (const char* env = std::getenv("VAULT_PG_CONNECTION_URL"); env != nullptr && *env != '\0') url = env;
  if (url.empty()) {
    return make_error(errc::invalid_request,
                      w + "connection_url: required (or VAULT_PG_CONNECTION_URL), e.g. "
                          "\"postgresql://credbroker:PASSWORD@db.internal:5432/credbroker\"");
  }
  out.connection_url = secret(std::move(url));
  for (auto [key, field] : {std::pair{"table", &out.table}, std::pair{"ha_table", &out.ha_table}}) {
    if (auto s = get_string(settings, w, key, *field); !s) return s;
    if (field->empty()) return bad(w + key, "a table name or schema.table", settings[key]);
  }
  if (auto it = settings.find("max_parallel"); it != settings.end() && !it->is_null()) {
    long long n = -1;
    if (it->is_number_integer()) {
      n = it->get<long long>();
    } else if (it->is_string() && !it->get_ref<const std::string&>().empty() &&
               it->get_ref<const std::string&>().size() <= 6 &&
               it->get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos) {
      n = std::stoll(it->get<std::string>());
    }
    if (n < 2 || n > 10000) return bad(w + "max_parallel", "a whole number from 2 to 10000", *it);
    out.max_parallel = static_cast<unsigned>(n);
  }
  std::chrono::seconds ttl{std::chrono::duration_cast<std::chrono::seconds>(out.ha_lock_ttl)};
  if (auto s = get_duration(settings, w, "ha_lock_ttl", ttl); !s) return s;
  if (ttl < std::chrono::seconds(2) || ttl > std::chrono::hours(1)) {
    return bad(w + "ha_lock_ttl", "a duration from 2s to 1h such as \"10s\"", settings["ha_lock_ttl"]);
  }
  out.ha_lock_ttl = ttl;
  return get_bool(settings, w, "ha_enabled", out.ha_enabled);
}

// telemetry (Vault's stanza) and listener.tcp.telemetry (Vault's place for unauthenticated_metrics_access).
status parse_telemetry(const nlohmann::json& block, telemetry_config& out) {
  const std::string w = "telemetry.";
  if (auto s = only_keys(block, "telemetry",
                         {"unauthenticated_metrics_access", "prometheus_retention_time", "disable_hostname",
                          "usage_gauge_period"});
      !s) {
    return s;
  }
  bool open = false;
  if (auto s = get_bool(block, w, "unauthenticated_metrics_access", open); !s) return s;
  out.unauthenticated_metrics_access = out.unauthenticated_metrics_access || open;
  if (auto s = get_duration(block, w, "prometheus_retention_time", out.prometheus_retention_time); !s) return s;
  if (auto s = get_bool(block, w, "disable_hostname", out.disable_hostname); !s) return s;
  if (auto it = block.find("usage_gauge_period"); it != block.end() && it->is_string() && it->get<std::string>() == "none") {
    out.usage_gauge_period = std::chrono::seconds{0};
    return ok_v;
  }
  return get_duration(block, w, "usage_gauge_period", out.usage_gauge_period);
}

status parse_listener_telemetry(const nlohmann::json& tcp, telemetry_config& out) {
  auto it = tcp.find("telemetry");
  if (it == tcp.end() || it->is_null()) return ok_v;
  auto block = single_block(*it, "listener.tcp.telemetry");
  if (!block) return std::move(block).err();
  if (auto s = only_keys(*block, "listener.tcp.telemetry", {"unauthenticated_metrics_access"}); !s) return s;
  bool open = false;
  if (auto s = get_bool(*block, "listener.tcp.telemetry.", "unauthenticated_metrics_access", open); !s) return s;
  out.unauthenticated_metrics_access = out.unauthenticated_metrics_access || open;
  return ok_v;
}

// listener.tcp.x_forwarded_for_* (Vault's names and defaults).
status parse_forwarded_for(const nlohmann::json& tcp, forwarded_for_config& out) {
  const std::string w = "listener.tcp.";
  if (auto it = tcp.find("x_forwarded_for_authorized_addrs"); it != tcp.end() && !it->is_null()) {
    std::vector<std::string> addrs;
    if (it->is_string()) {
      const std::string& text = it->get_ref<const std::string&>();
      for (std::size_t start = 0; start <= text.size();) {
        const auto comma = text.find(',', start);
        addrs.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (!v.is_string()) return bad(w + "x_forwarded_for_authorized_addrs", "a list of CIDR blocks", *it);
        addrs.push_back(v.get<std::string>());
      }
    } else {
      return bad(w + "x_forwarded_for_authorized_addrs", "a list of CIDR blocks", *it);
    }
    auto parsed = parse_cidr_list(addrs, true);
    if (!parsed) return bad(w + "x_forwarded_for_authorized_addrs", "CIDR blocks such as \"10.0.0.0/8\"", *it);
    out.authorized_addrs.clear();
    for (const auto& b : *parsed) out.authorized_addrs.push_back(b.to_string());
  }
  unsigned long long hops = out.hop_skips;
  if (auto s = get_uint(tcp, w, "x_forwarded_for_hop_skips", 64, hops); !s) return s;
  out.hop_skips = static_cast<unsigned>(hops);
  if (auto s = get_bool(tcp, w, "x_forwarded_for_reject_not_authorized", out.reject_not_authorized); !s) return s;
  return get_bool(tcp, w, "x_forwarded_for_reject_not_present", out.reject_not_present);
}

}  // namespace

bool valid_listen_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  const std::string port = address.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(port) <= 65535;
}

result<server_config> parse_server_config(const nlohmann::json& doc) {
  if (!doc.is_object()) return bad("(top level)", "a JSON object", doc);
  server_config c;
  if (auto s = only_keys(doc, "", {"listener", "storage", "api_addr", "cluster_addr", "disable_clustering", "log_level", "log_format", "default_lease_ttl",
                                   "max_lease_ttl", "io_threads", "worker_threads", "executor_threads", "shutdown_timeout",
                                   "disable_mlock", "ui", "cluster_name", "unseal_key_file", "lease_revocation",
                                   "allow_audit_log_prefixing", "telemetry"});
      !s) {
    return std::move(s).err();
  }

  if (auto it = doc.find("listener"); it != doc.end() && !it->is_null()) {
    auto block = single_block(*it, "listener");
    if (!block) return std::move(block).err();
    if (auto s = only_keys(*block, "listener", {"tcp"}); !s) return std::move(s).err();
    auto tcp_it = block->find("tcp");
    if (tcp_it == block->end()) return bad("listener", "{\"tcp\": {...}}", *block);
    auto tcp = single_block(*tcp_it, "listener.tcp");
    if (!tcp) return std::move(tcp).err();
    const std::string w = "listener.tcp.";
    if (auto s = only_keys(*tcp, "listener.tcp",
                           {"address", "tls_disable", "tls_cert_file", "tls_key_file", "max_request_size",
                            "max_connections", "http_read_header_timeout", "http_read_timeout", "http_idle_timeout",
                            "http_write_timeout", "telemetry", "x_forwarded_for_authorized_addrs",
                            "x_forwarded_for_hop_skips", "x_forwarded_for_reject_not_authorized",
                            "x_forwarded_for_reject_not_present"});
        !s) {
      return std::move(s).err();
    }
    auto& l = c.listener;
    if (auto s = get_string(*tcp, w, "address", l.address); !s) return std::move(s).err();
    if (!valid_listen_address(l.address)) {
      return bad(w + "address", "\"host:port\" such as \"127.0.0.1:8200\"", (*tcp)["address"]);
    }
    if (auto s = get_bool(*tcp, w, "tls_disable", l.tls_disable); !s) return std::move(s).err();
    if (auto s = get_string(*tcp, w, "tls_cert_file", l.tls_cert_file); !s) return std::move(s).err();
    if (auto s = get_string(*tcp, w, "tls_key_file", l.tls_key_file); !s) return std::move(s).err();
    unsigned long long mrs = l.max_request_size;
    if (auto s = get_uint(*tcp, w, "max_request_size", 1ULL << 32, mrs); !s) return std::move(s).err();
    if (mrs == 0) mrs = 32 * 1024 * 1024;
    l.max_request_size = static_cast<std::size_t>(mrs);
    unsigned long long maxc = l.max_connections;
    if (auto s = get_uint(*tcp, w, "max_connections", 1'000'000, maxc); !s) return std::move(s).err();
    l.max_connections = static_cast<std::size_t>(maxc);
    // 0 keeps the default: the server never waits without a limit (Vault's 0 means no timeout).
    // An idle timeout of 0 falls back to the read timeout, then the header timeout, as in Vault.
    const auto idle_default = l.idle_timeout;
    l.idle_timeout = std::chrono::seconds{-1};
    for (auto [key, field] : {std::pair{"http_read_header_timeout", &l.read_header_timeout},
                              std::pair{"http_read_timeout", &l.read_timeout},
                              std::pair{"http_idle_timeout", &l.idle_timeout},
                              std::pair{"http_write_timeout", &l.write_timeout}}) {
      const auto before = *field;
      if (auto s = get_duration(*tcp, w, key, *field); !s) return std::move(s).err();
      if (field->count() == 0 && field != &l.idle_timeout) *field = before;
    }
    if (l.idle_timeout.count() < 0) {
      l.idle_timeout = idle_default;  // not given
    } else if (l.idle_timeout.count() == 0) {
      l.idle_timeout = l.read_timeout;
    }
    if (auto s = parse_listener_telemetry(*tcp, c.telemetry); !s) return std::move(s).err();
    if (auto s = parse_forwarded_for(*tcp, l.forwarded_for); !s) return std::move(s).err();
    if (!l.tls_disable && (l.tls_cert_file.empty() || l.tls_key_file.empty())) {
      return make_error(errc::invalid_request,
                        "listener.tcp.tls_cert_file and listener.tcp.tls_key_file: required unless "
                        "listener.tcp.tls_disable is true");
    }
  } else {
    return make_error(errc::invalid_request, "listener: required, e.g. {\"tcp\": {\"address\": \"127.0.0.1:8200\"}}");
  }

  if (auto it = doc.find("storage"); it != doc.end() && !it->is_null()) {
    auto block = single_block(*it, "storage");
    if (!block) return std::move(block).err();
    if (block->size() != 1) {
      return bad("storage", "exactly one backend: {\"sqlite\": {\"path\": \"...\"}}, {\"postgresql\": {...}} or {\"inmem\": {}}", *block);
    }
    const auto first = block->begin();
    const std::string type = first.key();
    const nlohmann::json& settings = first.value();
    if (type == "sqlite") {
      if (!settings.is_object()) return bad("storage.sqlite", "an object", settings);
      if (auto s = only_keys(settings, "storage.sqlite", {"path"}); !s) return std::move(s).err();
      if (auto s = get_string(settings, "storage.sqlite.", "path", c.storage.path); !s) return std::move(s).err();
      if (c.storage.path.empty()) return bad("storage.sqlite.path", "the data directory, a non-empty string", settings.value("path", nlohmann::json()));
    } else if (type == "postgresql") {
      if (!settings.is_object()) return bad("storage.postgresql", "an object", settings);
      if (auto s = parse_postgresql_storage(settings, c.storage); !s) return std::move(s).err();
    } else if (type == "inmem") {
      if (!settings.is_object() || !settings.empty()) return bad("storage.inmem", "an empty object {}", settings);
    } else {
      return make_error(errc::invalid_request,
                        "unknown key \"storage." + type + "\"; expected one of: inmem, postgresql, sqlite");
    }
    c.storage.type = type;
  } else {
    return make_error(errc::invalid_request, "storage: required, e.g. {\"sqlite\": {\"path\": \"/var/lib/credbroker\"}}");
  }

  if (auto s = get_string(doc, "", "api_addr", c.api_addr); !s) return std::move(s).err();
  if (auto s = get_string(doc, "", "cluster_addr", c.cluster_addr); !s) return std::move(s).err();
  if (auto s = get_bool(doc, "", "disable_clustering", c.disable_clustering); !s) return std::move(s).err();
  if (auto s = get_string(doc, "", "log_level", c.log_level); !s) return std::move(s).err();
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!levels.contains(c.log_level)) return bad("log_level", "one of trace, debug, info, warn, error, off", doc["log_level"]);
  std::string format = "standard";
  if (auto s = get_string(doc, "", "log_format", format); !s) return std::move(s).err();
  if (format == "standard" || format == "text") {
    c.format = log_format::standard;
  } else if (format == "json") {
    c.format = log_format::json;
  } else {
    return bad("log_format", "\"standard\" or \"json\"", doc["log_format"]);
  }
  if (auto s = get_duration(doc, "", "default_lease_ttl", c.default_lease_ttl); !s) return std::move(s).err();
  if (auto s = get_duration(doc, "", "max_lease_ttl", c.max_lease_ttl); !s) return std::move(s).err();
  if (c.default_lease_ttl.count() == 0) c.default_lease_ttl = std::chrono::seconds{768 * 3600};
  if (c.max_lease_ttl.count() == 0) c.max_lease_ttl = std::chrono::seconds{768 * 3600};
  if (c.default_lease_ttl > c.max_lease_ttl) {
    return make_error(errc::invalid_request, "default_lease_ttl: must not exceed max_lease_ttl");
  }
  unsigned long long io = 0, workers = c.worker_threads;
  if (auto s = get_uint(doc, "", "io_threads", 256, io); !s) return std::move(s).err();
  if (auto s = get_uint(doc, "", "worker_threads", 4096, workers); !s) return std::move(s).err();
  if (workers == 0) return bad("worker_threads", "a whole number from 1 to 4096", doc["worker_threads"]);
  c.io_threads = static_cast<unsigned>(io);
  c.worker_threads = static_cast<unsigned>(workers);
  unsigned long long executor = c.executor_threads;
  if (auto s = get_uint(doc, "", "executor_threads", 1024, executor); !s) return std::move(s).err();
  if (executor == 0) return bad("executor_threads", "a whole number from 1 to 1024", doc["executor_threads"]);
  c.executor_threads = static_cast<unsigned>(executor);
  if (auto s = get_duration(doc, "", "shutdown_timeout", c.shutdown_timeout); !s) return std::move(s).err();
  bool ignored = false;
  if (auto s = get_bool(doc, "", "disable_mlock", ignored); !s) return std::move(s).err();
  if (auto s = get_bool(doc, "", "ui", ignored); !s) return std::move(s).err();
  if (auto s = get_string(doc, "", "cluster_name", c.cluster_name); !s) return std::move(s).err();
  if (auto s = get_string(doc, "", "unseal_key_file", c.unseal_key_file); !s) return std::move(s).err();
  if (auto s = get_bool(doc, "", "allow_audit_log_prefixing", c.allow_audit_log_prefixing); !s) return std::move(s).err();
  if (auto it = doc.find("lease_revocation"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return bad("lease_revocation", "an object", *it);
    const std::string w = "lease_revocation.";
    if (auto s = only_keys(*it, "lease_revocation",
                           {"max_attempts", "backoff_base", "backoff_cap", "irrevocable_retry", "per_connection"});
        !s) {
      return std::move(s).err();
    }
    auto& r = c.revocation;
    unsigned long long attempts = r.max_attempts, per = r.per_connection;
    if (auto s = get_uint(*it, w, "max_attempts", 1000, attempts); !s) return std::move(s).err();
    if (attempts == 0) return bad(w + "max_attempts", "a whole number from 1 to 1000", (*it)["max_attempts"]);
    if (auto s = get_uint(*it, w, "per_connection", 256, per); !s) return std::move(s).err();
    if (per == 0) return bad(w + "per_connection", "a whole number from 1 to 256", (*it)["per_connection"]);
    r.max_attempts = static_cast<unsigned>(attempts);
    r.per_connection = static_cast<unsigned>(per);
    for (auto [key, field] : {std::pair{"backoff_base", &r.backoff_base}, std::pair{"backoff_cap", &r.backoff_cap},
                              std::pair{"irrevocable_retry", &r.irrevocable_retry}}) {
      if (auto s = get_duration(*it, w, key, *field); !s) return std::move(s).err();
      if (field->count() == 0) return bad(w + key, "a duration of at least 1s", (*it)[key]);
    }
    if (r.backoff_cap < r.backoff_base) return make_error(errc::invalid_request, "lease_revocation.backoff_cap: must not be below backoff_base");
  }
  if (auto it = doc.find("telemetry"); it != doc.end() && !it->is_null()) {
    auto block = single_block(*it, "telemetry");
    if (!block) return std::move(block).err();
    if (auto s = parse_telemetry(*block, c.telemetry); !s) return std::move(s).err();
  }
  return c;
}

result<server_config> load_server_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::invalid_request, path + ": cannot open the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ss.str(), nullptr, true, true);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(errc::invalid_request, path + ": not valid JSON: " + e.what());
  }
  auto c = parse_server_config(doc);
  if (!c) return make_error(errc::invalid_request, path + ": " + c.err().message);
  return c;
}

}  // namespace credbroker::config
