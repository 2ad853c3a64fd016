#include <gtest/gtest.h>

#include <fstream>

#include "broker/config/server_config.hpp"

using namespace credbroker;
using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({"listener":{"tcp":{"address":"127.0.0.1:8200","tls_disable":true}},
                        "storage":{"sqlite":{"path":"/var/lib/credbroker"}}})");
}

struct config_case {
  const char* name;
  std::function<void(json&)> edit;
  const char* error;  // nullptr: valid
};

TEST(server_config, table) {
  const std::vector<config_case> cases = {
      {"minimal", [](json&) {}, nullptr},
      {"everything", [](json& j) {
         j["api_addr"] = "http://127.0.0.1:8200";
         j["log_level"] = "debug";
         j["log_format"] = "json";
         j["default_lease_ttl"] = "1h";
         j["max_lease_ttl"] = 86400;
         j["listener"]["tcp"]["http_idle_timeout"] = "2m";
         j["listener"]["tcp"]["max_request_size"] = 1024;
         j["disable_mlock"] = true;
       }, nullptr},
      {"listener as array", [](json& j) { j["listener"] = json::array({j["listener"]}); }, nullptr},
      {"inmem storage", [](json& j) { j["storage"] = {{"inmem", json::object()}}; }, nullptr},
      {"unknown top key", [](json& j) { j["listner"] = 1; },
       "unknown key \"listner\"; expected one of: allow_audit_log_prefixing, "
       "api_addr, cluster_addr, cluster_name, default_lease_ttl, disable_clustering, disable_mlock, executor_threads, io_threads, "
       "lease_revocation, listener, log_format, log_level, max_lease_ttl, shutdown_timeout, storage, telemetry, ui, "
       "unseal_key_file, worker_threads"},
      {"revocation settings", [](json& j) {
         j["lease_revocation"] = {{"max_attempts", 3}, {"backoff_base", "1s"}, {"backoff_cap", "4s"},
                                  {"irrevocable_retry", "30s"}, {"per_connection", 8}};
       }, nullptr},
      {"revocation unknown key", [](json& j) { j["lease_revocation"] = {{"attempts", 3}}; },
       "unknown key \"lease_revocation.attempts\"; expected one of: backoff_base, backoff_cap, irrevocable_retry, "
       "max_attempts, per_connection"},
      {"revocation zero attempts", [](json& j) { j["lease_revocation"] = {{"max_attempts", 0}}; },
       "lease_revocation.max_attempts: expected a whole number from 1 to 1000, got 0"},
      {"revocation zero base", [](json& j) { j["lease_revocation"] = {{"backoff_base", "0s"}}; },
       "lease_revocation.backoff_base: expected a duration of at least 1s, got \"0s\""},
      {"revocation cap below base", [](json& j) { j["lease_revocation"] = {{"backoff_base", "1m"}, {"backoff_cap", "10s"}}; },
       "lease_revocation.backoff_cap: must not be below backoff_base"},
      {"unknown listener key", [](json& j) { j["listener"]["tcp"]["adress"] = "x"; },
       "unknown key \"listener.tcp.adress\"; expected one of: address, http_idle_timeout, http_read_header_timeout, "
       "http_read_timeout, http_write_timeout, max_connections, max_request_size, telemetry, tls_cert_file, "
       "tls_disable, tls_key_file, x_forwarded_for_authorized_addrs, x_forwarded_for_hop_skips, "
       "x_forwarded_for_reject_not_authorized, x_forwarded_for_reject_not_present"},
      {"x_forwarded_for as a list", [](json& j) { j["listener"]["tcp"]["x_forwarded_for_authorized_addrs"] = {"10.0.0.0/8", "::1"}; },
       nullptr},
      {"x_forwarded_for as a comma string", [](json& j) { j["listener"]["tcp"]["x_forwarded_for_authorized_addrs"] = "10.0.0.0/8, 192.0.2.1"; },
       nullptr},
      {"x_forwarded_for bad block", [](json& j) { j["listener"]["tcp"]["x_forwarded_for_authorized_addrs"] = "10.0.0.0/40"; },
       "listener.tcp.x_forwarded_for_authorized_addrs: expected CIDR blocks such as \"10.0.0.0/8\", got \"10.0.0.0/40\""},
      {"x_forwarded_for hop skips", [](json& j) { j["listener"]["tcp"]["x_forwarded_for_hop_skips"] = -1; },
       "listener.tcp.x_forwarded_for_hop_skips: expected a whole number from 0 to 64, got -1"},
      {"max_connections", [](json& j) { j["listener"]["tcp"]["max_connections"] = 500; }, nullptr},
      {"max_connections negative", [](json& j) { j["listener"]["tcp"]["max_connections"] = -1; },
       "listener.tcp.max_connections: expected a whole number from 0 to 1000000, got -1"},
      {"header timeout bad", [](json& j) { j["listener"]["tcp"]["http_read_header_timeout"] = "soon"; },
       "listener.tcp.http_read_header_timeout: expected a duration such as \"30s\", \"5m\", \"768h\" or a number of "
       "seconds, got \"soon\""},
      {"bad address", [](json& j) { j["listener"]["tcp"]["address"] = "8200"; },
       "listener.tcp.address: expected \"host:port\" such as \"127.0.0.1:8200\", got \"8200\""},
      {"address not string", [](json& j) { j["listener"]["tcp"]["address"] = 8200; },
       "listener.tcp.address: expected a string, got 8200"},
      {"port too large", [](json& j) { j["listener"]["tcp"]["address"] = "127.0.0.1:70000"; },
       "listener.tcp.address: expected \"host:port\" such as \"127.0.0.1:8200\", got \"127.0.0.1:70000\""},
      {"tls without files", [](json& j) { j["listener"]["tcp"].erase("tls_disable"); },
       "listener.tcp.tls_cert_file and listener.tcp.tls_key_file: required unless listener.tcp.tls_disable is true"},
      {"bad tls_disable", [](json& j) { j["listener"]["tcp"]["tls_disable"] = "yes"; },
       "listener.tcp.tls_disable: expected true or false, got \"yes\""},
      {"bad duration", [](json& j) { j["default_lease_ttl"] = "soon"; },
       "default_lease_ttl: expected a duration such as \"30s\", \"5m\", \"768h\" or a number of seconds, got \"soon\""},
      {"default above max", [](json& j) { j["default_lease_ttl"] = "2h"; j["max_lease_ttl"] = "1h"; },
       "default_lease_ttl: must not exceed max_lease_ttl"},
      {"bad log level", [](json& j) { j["log_level"] = "loud"; },
       "log_level: expected one of trace, debug, info, warn, error, off, got \"loud\""},
      {"bad log format", [](json& j) { j["log_format"] = "xml"; },
       "log_format: expected \"standard\" or \"json\", got \"xml\""},
      {"unknown storage", [](json& j) { j["storage"] = {{"file", {{"path", "/x"}}}}; },
       "unknown key \"storage.file\"; expected one of: inmem, postgresql, sqlite"},
      {"sqlite without path", [](json& j) { j["storage"]["sqlite"] = json::object(); },
       "storage.sqlite.path: expected the data directory, a non-empty string, got null"},
      {"missing listener", [](json& j) { j.erase("listener"); },
       "listener: required, e.g. {\"tcp\": {\"address\": \"127.0.0.1:8200\"}}"},
      {"missing storage", [](json& j) { j.erase("storage"); },
       "storage: required, e.g. {\"sqlite\": {\"path\": \"/var/lib/credbroker\"}}"},
      {"negative workers", [](json& j) { j["worker_threads"] = -1; },
       "worker_threads: expected a whole number from 0 to 4096, got -1"},
      {"executor threads", [](json& j) { j["executor_threads"] = 8; }, nullptr},
      {"no executor threads", [](json& j) { j["executor_threads"] = 0; },
       "executor_threads: expected a whole number from 1 to 1024, got 0"},
      {"top level not object", [](json& j) { j = json::array(); },
       "(top level): expected a JSON object, got []"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json doc = base();
    c.edit(doc);
    auto r = config::parse_server_config(doc);
    if (c.error == nullptr) {
      EXPECT_TRUE(r.ok()) << r.err().message;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.err().message, c.error);
    }
  }
}

TEST(server_config, values_are_read) {
  json doc = base();
  doc["default_lease_ttl"] = "1h";
  doc["log_format"] = "json";
  doc["listener"]["tcp"]["http_idle_timeout"] = "2m";
  auto r = config::parse_server_config(doc);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->default_lease_ttl.count(), 3600);
  EXPECT_EQ(r->max_lease_ttl.count(), 768 * 3600);
  EXPECT_EQ(r->listener.idle_timeout.count(), 120);
  EXPECT_EQ(r->listener.read_header_timeout.count(), 10);
  EXPECT_EQ(r->listener.max_connections, 0u);
  EXPECT_EQ(r->format, log_format::json);
  EXPECT_EQ(r->storage.type, "sqlite");
  EXPECT_EQ(r->storage.path, "/var/lib/credbroker");
  EXPECT_EQ(r->revocation.max_attempts, 6u);
  EXPECT_EQ(r->revocation.backoff_base.count(), 10);
  doc["lease_revocation"] = {{"backoff_base", "2s"}, {"per_connection", 9}};
  auto r2 = config::parse_server_config(doc);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->revocation.backoff_base.count(), 2);
  EXPECT_EQ(r2->revocation.per_connection, 9u);
  EXPECT_EQ(r2->revocation.backoff_cap.count(), 600);
}

TEST(server_config, postgresql_storage) {
  const std::string url = "postgresql://credbroker:pw@db.internal:5432/credbroker";
  auto with = [&](json settings) {
    json doc = base();
    doc["storage"] = {{"postgresql", std::move(settings)}};
    return config::parse_server_config(doc);
  };
  auto r = with({{"connection_url", url}, {"table", "vault.kv"}, {"max_parallel", "16"}, {"ha_enabled", "true"}});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->storage.type, "postgresql");
  EXPECT_EQ(r->storage.connection_url.reveal(), url);
  EXPECT_EQ(r->storage.table, "vault.kv");
  EXPECT_EQ(r->storage.max_parallel, 16u);
  EXPECT_TRUE(r->storage.ha_enabled);
  EXPECT_EQ(r->storage.ha_table, "credbroker_ha_locks");
  auto defaults = with({{"connection_url", url}});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->storage.table, "credbroker_kv_store");
  EXPECT_EQ(defaults->storage.max_parallel, 128u);
  EXPECT_FALSE(defaults->storage.ha_enabled);
  EXPECT_EQ(defaults->storage.ha_lock_ttl, std::chrono::seconds(10));
  auto ttl = with({{"connection_url", url}, {"ha_enabled", true}, {"ha_lock_ttl", "3s"}});
  ASSERT_TRUE(ttl.ok()) << ttl.err().message;
  EXPECT_EQ(ttl->storage.ha_lock_ttl, std::chrono::seconds(3));
  json cluster = base();
  cluster["cluster_addr"] = "https://10.0.0.5:8201";
  cluster["disable_clustering"] = true;
  auto c = config::parse_server_config(cluster);
  ASSERT_TRUE(c.ok()) << c.err().message;
  EXPECT_EQ(c->cluster_addr, "https://10.0.0.5:8201");
  EXPECT_TRUE(c->disable_clustering);

  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "storage.postgresql.connection_url: required (or VAULT_PG_CONNECTION_URL), e.g. "
                       "\"postgresql://credbroker:PASSWORD@db.internal:5432/credbroker\""},
      {{{"connection_url", url}, {"tabel", "x"}},
       "unknown key \"storage.postgresql.tabel\"; expected one of: connection_url, ha_enabled, ha_lock_ttl, ha_table, max_parallel, table"},
      {{{"connection_url", url}, {"ha_lock_ttl", "1s"}},
       "storage.postgresql.ha_lock_ttl: expected a duration from 2s to 1h such as \"10s\", got \"1s\""},
      {{{"connection_url", url}, {"max_parallel", 1}}, "storage.postgresql.max_parallel: expected a whole number from 2 to 10000, got 1"},
      {{{"connection_url", url}, {"max_parallel", "many"}},
       "storage.postgresql.max_parallel: expected a whole number from 2 to 10000, got \"many\""},
      {{{"connection_url", url}, {"table", ""}}, "storage.postgresql.table: expected a table name or schema.table, got \"\""},
      {{{"connection_url", url}, {"ha_enabled", "maybe"}}, "storage.postgresql.ha_enabled: expected true or false, got \"maybe\""},
      {{{"connection_url", 5}}, "storage.postgresql.connection_url: expected a string, got 5"},
  };
  for (const auto& [settings, message] : bad) {
    SCOPED_TRACE(settings.dump());
    auto e = with(settings);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.err().message, message);
    EXPECT_EQ(e.err().message.find("pw@"), std::string::npos);  // the URL's password is never echoed
  }
}

TEST(server_config, listener_limits_and_vaults_zero_timeouts) {
  json doc = base();
  auto defaults = config::parse_server_config(doc);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->listener.idle_timeout.count(), 30);  // well below Vault's 5m: idle sockets go
  EXPECT_EQ(defaults->listener.read_header_timeout.count(), 10);
  doc["listener"]["tcp"]["max_connections"] = 2000;
  doc["listener"]["tcp"]["http_read_header_timeout"] = "3s";
  doc["listener"]["tcp"]["http_read_timeout"] = "20s";
  doc["listener"]["tcp"]["http_idle_timeout"] = 0;  // Vault: falls back to the read timeout
  doc["listener"]["tcp"]["http_write_timeout"] = "0";  // Vault: none; here: the default stays
  auto r = config::parse_server_config(doc);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->listener.max_connections, 2000u);
  EXPECT_EQ(r->listener.read_header_timeout.count(), 3);
  EXPECT_EQ(r->listener.idle_timeout.count(), 20);
  EXPECT_EQ(r->listener.write_timeout.count(), 30);
}

TEST(server_config, telemetry) {
  auto with = [](const std::function<void(json&)>& edit) {
    json j = base();
    edit(j);
    return config::parse_server_config(j);
  };
  const auto defaults = with([](json&) {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->telemetry.unauthenticated_metrics_access);
  EXPECT_EQ(defaults->telemetry.prometheus_retention_time, std::chrono::hours(24));
  EXPECT_TRUE(defaults->telemetry.disable_hostname);
  EXPECT_EQ(defaults->telemetry.usage_gauge_period, std::chrono::minutes(1));

  struct row {
    const char* name;
    std::function<void(json&)> edit;
    bool open;
    std::chrono::seconds retention;
    bool disable_hostname;
    std::chrono::seconds usage;
  };
  using std::chrono::seconds;
  const std::vector<row> rows = {
      {"Vault's listener place", [](json& j) { j["listener"]["tcp"]["telemetry"] = {{"unauthenticated_metrics_access", true}}; },
       true, seconds{86400}, true, seconds{60}},
      {"listener telemetry as HCL's array, a string bool",
       [](json& j) { j["listener"]["tcp"]["telemetry"] = json::array({{{"unauthenticated_metrics_access", "true"}}}); },
       true, seconds{86400}, true, seconds{60}},
      {"the telemetry stanza", [](json& j) {
         j["telemetry"] = {{"unauthenticated_metrics_access", true}, {"prometheus_retention_time", "30s"},
                           {"disable_hostname", false}, {"usage_gauge_period", "5m"}};
       }, true, seconds{30}, false, seconds{300}},
      {"retention 0 and usage none", [](json& j) {
         j["telemetry"] = {{"prometheus_retention_time", 0}, {"usage_gauge_period", "none"}};
       }, false, seconds{0}, true, seconds{0}},
      {"either place opens it", [](json& j) {
         j["listener"]["tcp"]["telemetry"] = {{"unauthenticated_metrics_access", true}};
         j["telemetry"] = {{"unauthenticated_metrics_access", false}};
       }, true, seconds{86400}, true, seconds{60}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const auto c = with(r.edit);
    ASSERT_TRUE(c.ok()) << c.err().message;
    EXPECT_EQ(c->telemetry.unauthenticated_metrics_access, r.open);
    EXPECT_EQ(c->telemetry.prometheus_retention_time, r.retention);
    EXPECT_EQ(c->telemetry.disable_hostname, r.disable_hostname);
    EXPECT_EQ(c->telemetry.usage_gauge_period, r.usage);
  }

  const std::vector<std::pair<std::function<void(json&)>, std::string>> bad = {
      {[](json& j) { j["telemetry"] = {{"statsd_address", "x:8125"}}; },
       "unknown key \"telemetry.statsd_address\"; expected one of: disable_hostname, prometheus_retention_time, "
       "unauthenticated_metrics_access, usage_gauge_period"},
      {[](json& j) { j["listener"]["tcp"]["telemetry"] = {{"prometheus_retention_time", "1h"}}; },
       "unknown key \"listener.tcp.telemetry.prometheus_retention_time\"; expected one of: unauthenticated_metrics_access"},
      {[](json& j) { j["telemetry"] = {{"disable_hostname", "maybe"}}; },
       "telemetry.disable_hostname: expected true or false, got \"maybe\""},
      {[](json& j) { j["telemetry"] = {{"usage_gauge_period", "often"}}; },
       "telemetry.usage_gauge_period: expected a duration such as \"30s\", \"5m\", \"768h\" or a number of seconds, got \"often\""},
      {[](json& j) { j["telemetry"] = 5; }, "telemetry: expected an object, got 5"},
  };
  for (const auto& [edit, message] : bad) {
    SCOPED_TRACE(message);
    const auto c = with(edit);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.err().message, message);
  }
}

TEST(server_config, file_errors_name_the_file) {
  auto missing = config::load_server_config("/nonexistent/credbroker.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().message, "/nonexistent/credbroker.json: cannot open the config file");
  const std::string path = ::testing::TempDir() + "/bad.json";
  std::ofstream(path) << "{ not json";
  auto bad = config::load_server_config(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.err().message.find(path + ": not valid JSON"), std::string::npos) << bad.err().message;
}

}  // namespace
