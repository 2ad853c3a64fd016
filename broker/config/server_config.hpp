#pragma once
// The server's configuration file: JSON in Vault's shape where Vault has one.
//
// {
//   "listener": {"tcp": {"address": "127.0.0.1:8200", "tls_disable": true}},
//   "storage": {"sqlite": {"path": "/var/lib/credbroker"}},
//           or {"postgresql": {"connection_url": "postgresql://...", "table": "credbroker_kv_store"}},
//   "api_addr": "http://127.0.0.1:8200",
//   "log_level": "info", "log_format": "standard",
//   "default_lease_ttl": "768h", "max_lease_ttl": "768h",
//   "lease_revocation": {"max_attempts": 6, "backoff_base": "10s", "backoff_cap": "10m",
//                        "irrevocable_retry": "1h", "per_connection": 4},
//   "telemetry": {"prometheus_retention_time": "24h", "disable_hostname": true, "usage_gauge_period": "1m",
//                 "unauthenticated_metrics_access": false}
// }
// (Vault's place for unauthenticated_metrics_access is listener.tcp.telemetry; both are read.)
//
// Every key is checked: an unknown key or a bad value is an error naming the key path
// ("listener.tcp.address") and the expected form. See docs/configuration.md for each key.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/logging.hpp"
#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::config {

// Vault's listener X-Forwarded-For options: the header is honoured only on connections from
// authorized_addrs (CIDR blocks or addresses); none configured: the header is ignored.
struct forwarded_for_config {
  std::vector<std::string> authorized_addrs;  // x_forwarded_for_authorized_addrs (list or comma string)
  unsigned hop_skips = 0;                     // x_forwarded_for_hop_skips
  bool reject_not_authorized = true;          // x_forwarded_for_reject_not_authorized
  bool reject_not_present = true;             // x_forwarded_for_reject_not_present
};

struct listener_config {
  std::string address = "127.0.0.1:8200";
  forwarded_for_config forwarded_for;
  bool tls_disable = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::size_t max_request_size = 32 * 1024 * 1024;
  std::size_t max_connections = 0;  // 0: from the open-file limit (api::auto_max_connections)
  std::chrono::seconds read_header_timeout{10};
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds idle_timeout{30};
  std::chrono::seconds write_timeout{30};
};

struct storage_config {
  std::string type = "sqlite";  // "sqlite" | "inmem" | "postgresql"
  std::string path;             // sqlite: data directory
  // postgresql (Vault's names). connection_url holds the password; VAULT_PG_CONNECTION_URL, when
  // set, overrides it (as in Vault), so the file need not hold it.
  secret connection_url;
  std::string table = "credbroker_kv_store";
  unsigned max_parallel = 128;  // sessions to the server at most
  bool ha_enabled = false;
  std::string ha_table = "credbroker_ha_locks";
  // HA: the server ends a silent active's lock session after this (docs/ha.md); credbroker's key.
  std::chrono::milliseconds ha_lock_ttl{10000};
};

// How failed revocations are retried (our own keys; Vault hard-codes 6 attempts from 10 s).
struct revocation_config {
  unsigned max_attempts = 6;                   // failures before a lease is marked irrevocable
  std::chrono::seconds backoff_base{10};       // first retry after this, doubling each time ...
  std::chrono::seconds backoff_cap{600};       // ... up to this (then +-25 % jitter)
  std::chrono::seconds irrevocable_retry{3600};  // irrevocable leases are retried this often, forever
  unsigned per_connection = 4;                 // concurrent revocations per database connection
};

// sys/metrics (docs/telemetry.md); Vault's keys.
struct telemetry_config {
  bool unauthenticated_metrics_access = false;  // listener.tcp.telemetry or telemetry: no token needed
  std::chrono::seconds prometheus_retention_time{24 * 3600};  // 0: no Prometheus format (Vault's)
  bool disable_hostname = true;  // Vault's default is false; every Vault dashboard assumes true
  std::chrono::seconds usage_gauge_period{60};  // lease and rotation census; 0 ("none"): never
};

struct server_config {
  listener_config listener;
  storage_config storage;
  std::string api_addr;
  std::string cluster_addr;         // Vault's; reported by sys/leader, not used for traffic (docs/ha.md)
  bool disable_clustering = false;  // Vault's; HA standbys answer 307 to the active instead of forwarding
  std::string cluster_name;
  std::string unseal_key_file;  // auto-unseal: unseal keys, one per line; must be mode 0600 or stricter
  std::string log_level = "info";
  log_format format = log_format::standard;
  std::chrono::seconds default_lease_ttl{768 * 3600};
  std::chrono::seconds max_lease_ttl{768 * 3600};
  unsigned io_threads = 0;      // 0: number of cores
  unsigned worker_threads = 64;  // blocking work: database calls, fsync waits
  unsigned executor_threads = 32;  // the blocking executor: revocations, renewals, rotations, periodic jobs
  std::chrono::seconds shutdown_timeout{30};
  revocation_config revocation;
  bool allow_audit_log_prefixing = false;  // a file audit device may take the prefix option (Vault's key)
  telemetry_config telemetry;
};

// Parses and validates; the error message names the key and the expected form.
result<server_config> parse_server_config(const nlohmann::json& doc);
// Reads the file, parses JSON, then parse_server_config. Errors start with the file name.
result<server_config> load_server_config(const std::string& path);

// "host:port" with a numeric port 0-65535.
bool valid_listen_address(const std::string& address);

}  // namespace credbroker::config
