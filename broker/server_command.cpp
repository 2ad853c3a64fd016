// "credbroker server": parse flags and config, wire the components, serve until SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "api/http_server.hpp"
#include "broker/audit/audit_table.hpp"
#include "broker/auth/policy_store.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/barrier/barrier.hpp"
#include "broker/barrier/seal_manager.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/postgresql_backend.hpp"
#include "broker/storage/rename.hpp"
#include "broker/storage/sqlite_backend.hpp"
#include "leases/lease_manager.hpp"
#include "api/auth_mounts.hpp"
#include "api/response_wrapping.hpp"
#include "api/secret_mounts.hpp"
#include "api/service.hpp"
#include "api/sys_metrics.hpp"
#include "broker/auth/authenticator.hpp"
#include "broker/commands.hpp"
#include "broker/config/server_config.hpp"
#include "broker/core/logging.hpp"
#include "broker/core/node_status.hpp"
#include "broker/core/blocking_executor.hpp"
#include "broker/core/periodic_jobs.hpp"
#include "broker/core/random.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/core/scheduler_driver.hpp"
#include "broker/engine/rotation_scheduler.hpp"
#include "broker/engine/usage_gauges.hpp"
#include "broker/plugin/metered_plugin.hpp"
#include "broker/telemetry/audit_source.hpp"
#include "leases/metered_revoker.hpp"
#include "cli/flags.hpp"
#include "plugins/builtin.hpp"

namespace credbroker {
namespace {

// listener.tcp.x_forwarded_for_* as the HTTP server takes them (the blocks were validated on load).
api::forwarded_for_options forwarded_for_options(const config::forwarded_for_config& c) {
  api::forwarded_for_options o;
  for (const auto& a : c.authorized_addrs) {
    if (auto b = cidr_block::parse(a, true)) o.authorized.push_back(*b);
  }
  o.hop_skips = c.hop_skips;
  o.reject_not_authorized = c.reject_not_authorized;
  o.reject_not_present = c.reject_not_present;
  return o;
}

const std::vector<cli::flag_spec> server_flags = {
    {"config", true, "FILE", "Path to the JSON configuration file (see docs/configuration.md)."},
    {"dev", false, "", "Dev mode: in-memory, unsealed, root token known; listens on 127.0.0.1:8200."},
    {"dev-root-token-id", true, "TOKEN",
     "Dev mode: use this root token instead of a generated one (also VAULT_DEV_ROOT_TOKEN_ID)."},
    {"dev-listen-address", true, "ADDR", "Dev mode: listen on this host:port (default 127.0.0.1:8200)."},
    {"log-level", true, "LEVEL", "Override log_level: trace, debug, info, warn, error, off."},
    {"log-format", true, "FORMAT", "Override log_format: standard or json."},
    {"fresh-store", false, "",
     "Accept storage that lost its security state and start that state afresh, once: an empty (0-byte) "
     "database file or an unseal_key_file whose store is gone start a new, uninitialised store; a missing "
     "token salt, secrets engine mount table or auth method table is recreated empty (every token and "
     "AppRole secret ID, every mount, every auth method is lost). Without it each of these stops the "
     "start (or the unseal) naming what is missing. See docs/storage-and-seal.md."},
};

// The store's security state (refused when missing, see barrier/store_layout.hpp) and the layout
// upgrades of this release.
void register_security_state(barrier::store_layout& layout, storage::physical& store, auth::token_store& tokens) {
  layout.require({auth::token_store::salt_key, "the token salt",
                  "every token, root included, and every AppRole role ID and secret ID stops working",
                  auth::token_store::new_salt, {"auth/token/id/", api::auth_mounts::data_prefix}});
  layout.require({api::secret_mounts::table_key, "the secrets engine mount table",
                  "every secrets engine mount is dropped with its roles and connections; its leases stay and are "
                  "revoked when due",
                  [] { return std::string("[]"); }, {"logical/", leases::lease_storage_prefix}});
  layout.require({api::auth_mounts::table_key, "the auth method table",
                  "every auth method (AppRole) is dropped with its roles and secret IDs",
                  [] { return std::string("[]"); }, {api::auth_mounts::data_prefix}});
  layout.add_upgrade({2, "token and secret-ID accessors in storage keys replaced by their HMACs", [&store, &tokens] {
                        if (auto s = tokens.salt_accessor_keys(); !s) return s;
                        if (auto s = auth::approle_backend::salt_accessor_keys(store, tokens, api::auth_mounts::data_prefix); !s) {
                          return s;
                        }
                        // The lease manager's index of the leases each token created.
                        return storage::rename_children(store, leases::lease_token_index_prefix,
                                                        [&tokens](std::string_view n) { return tokens.rename_accessor(n); });
                      }});
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "credbroker server: %s\n\nRun \"credbroker server -help\" for usage.\n", message.c_str());
  return 2;
}

}  // namespace

const char* const server_help = R"(Usage: credbroker server [-config FILE | -dev] [options]

Starts a credbroker server. With -config, the server reads a JSON file in Vault's shape
(listener.tcp.address, storage, api_addr, log_level, log_format, default_lease_ttl, max_lease_ttl,
unseal_key_file, and credbroker's lease_revocation retries; see docs/configuration.md).
The listener holds at most listener.tcp.max_connections connections (default: what the open-file
limit leaves), closing the oldest idle one to make room, and keeps a few more for sys/health; idle
keep-alive connections close after http_idle_timeout (30s). A request that needs a token and has
none, or a bad one, is refused from its header before its body is read.
A new data directory must be initialised once ("credbroker operator init") and unsealed after
each start ("credbroker operator unseal", or unseal_key_file). The broker keeps its data directory
0700 and its files 0600, and refuses a database file others may read or a directory others may
write. Storage that lost its security state (an emptied database file, a missing token salt or
mount table) stops the start or the unseal with an error naming what is missing; -fresh-store
accepts the loss once.
With -dev, it starts in memory, unsealed, with a root token printed once on standard output;
everything is lost when it stops. Stop it with SIGTERM or Ctrl-C: requests in flight finish first.

Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on a usage or configuration error.

Options:
)";

int server_command(const std::vector<std::string>& args) {
  auto flags = cli::parse_flags(server_flags, args);
  if (!flags) return usage_error(flags.err().message);
  if (flags->help) {
    std::fputs(server_help, stdout);
    std::fputs(cli::describe_flags(server_flags).c_str(), stdout);
    return 0;
  }
  if (!flags->positional.empty()) return usage_error("unexpected argument \"" + flags->positional.front() + "\"");
  const bool dev = flags->flag("dev");
  if (dev == flags->has("config")) return usage_error("exactly one of -config FILE or -dev is required");
  const bool fresh_store = flags->flag("fresh-store");
  if (dev && fresh_store) return usage_error("-fresh-store needs -config: dev mode always starts fresh");

  config::server_config cfg;
  if (dev) {
    cfg.listener.address = flags->value("dev-listen-address", "127.0.0.1:8200");
    if (!config::valid_listen_address(cfg.listener.address)) {
      return usage_error("-dev-listen-address: expected host:port such as 127.0.0.1:8200, got \"" +
                         cfg.listener.address + "\"");
    }
    cfg.listener.tls_disable = true;
    cfg.storage.type = "inmem";
    cfg.api_addr = "http://" + cfg.listener.address;
    cfg.telemetry.unauthenticated_metrics_access = true;  // as Vault's -dev
  } else {
    if (flags->has("dev-root-token-id") || flags->has("dev-listen-address")) {
      return usage_error("-dev-root-token-id and -dev-listen-address need -dev");
    }
    auto loaded = config::load_server_config(flags->value("config"));
    if (!loaded) return usage_error(loaded.err().message);
    cfg = std::move(*loaded);
  }
  if (flags->has("log-level")) cfg.log_level = flags->value("log-level");
  if (flags->has("log-format")) {
    const auto f = flags->value("log-format");
    if (f == "json") cfg.format = log_format::json;
    else if (f == "standard" || f == "text") cfg.format = log_format::standard;
    else return usage_error("-log-format: expected standard or json, got \"" + f + "\"");
  }
  if (auto s = configure_logging(cfg.log_level, cfg.format); !s) return usage_error(s.err().message);

  std::shared_ptr<boost::asio::ssl::context> tls;
  if (!cfg.listener.tls_disable) {
    tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    boost::system::error_code ec;
    tls->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                         boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                         boost::asio::ssl::context::no_tlsv1_1,
                     ec);
    tls->use_certificate_chain_file(cfg.listener.tls_cert_file, ec);
    if (ec) return usage_error("listener.tcp.tls_cert_file: cannot load \"" + cfg.listener.tls_cert_file + "\": " + ec.message());
    tls->use_private_key_file(cfg.listener.tls_key_file, boost::asio::ssl::context::pem, ec);
    if (ec) return usage_error("listener.tcp.tls_key_file: cannot load \"" + cfg.listener.tls_key_file + "\": " + ec.message());
  }

  // Storage -> barrier -> seal -> tokens.
  std::unique_ptr<storage::physical> backend;
  if (cfg.storage.type == "sqlite") {
    storage::sqlite_options so;
    so.path = (std::filesystem::path(cfg.storage.path) / "credbroker.db").string();
    so.accept_empty_file = fresh_store;
    auto opened = storage::sqlite_backend::open(so);
    if (!opened) {
      if (opened.err().code == make_error_code(errc::invalid_request)) return usage_error(opened.err().message);
      std::fprintf(stderr, "credbroker server: %s\n", opened.err().message.c_str());
      spdlog::error("{}", opened.err().message);
      return 1;
    }
    backend = std::move(*opened);
  } else if (cfg.storage.type == "postgresql") {
    if (cfg.storage.ha_enabled) {
      return usage_error("storage.postgresql.ha_enabled: this version runs one node per table; remove the key or "
                         "set it to false (see docs/ha.md)");
    }
    storage::postgresql_options po;
    po.connection_url = cfg.storage.connection_url;
    po.table = cfg.storage.table;
    po.max_parallel = cfg.storage.max_parallel;
    auto opened = storage::postgresql_backend::open(po);
    if (!opened) {
      if (opened.err().code == make_error_code(errc::invalid_request)) return usage_error(opened.err().message);
      std::fprintf(stderr, "credbroker server: %s\n", opened.err().message.c_str());
      spdlog::error("{}", opened.err().message);
      return 1;
    }
    backend = std::move(*opened);
  } else {
    backend = std::make_unique<storage::inmem_backend>();
  }
  barrier::barrier encrypted(*backend);
  barrier::seal_manager seal(*backend, encrypted, cfg.storage.type,
                             cfg.cluster_name.empty() ? "credbroker-cluster" : cfg.cluster_name);
  system_clock wall;
  auth::token_store tokens(encrypted, wall, {cfg.default_lease_ttl, cfg.max_lease_ttl});
  register_security_state(seal.layout(), encrypted, tokens);
  seal.layout().accept_lost_state(fresh_store);
  if (auto s = seal.load(); !s) {
    spdlog::error("{}", s.err().message);
    std::fprintf(stderr, "credbroker server: %s\n", s.err().message.c_str());
    return 1;
  }
  auth::policy_store policies(encrypted);
  seal.on_seal([&tokens, &policies] {
    tokens.clear_cache();
    policies.clear_cache();
  });

  secret root_token;
  bool generated_token = false;
  if (dev) {
    std::string given = flags->value("dev-root-token-id");
    if (given.empty()) {
      if (const char* env = std::getenv("VAULT_DEV_ROOT_TOKEN_ID")) given = env;
    }
    generated_token = given.empty();
    auto keys = seal.init(1, 1);  // leaves the barrier unsealed
    if (!keys) {
      std::fprintf(stderr, "credbroker server: %s\n", keys.err().message.c_str());
      return 1;
    }
    auto token = tokens.create_root(generated_token ? std::nullopt : std::optional<std::string>(given));
    if (!token) {
      std::fprintf(stderr, "credbroker server: %s\n", token.err().message.c_str());
      return 1;
    }
    root_token = std::move(*token);
  } else if (!cfg.unseal_key_file.empty()) {
    // The file also follows every rekey (barrier/unseal_key_file.hpp).
    seal.set_key_file(barrier::unseal_key_file(cfg.unseal_key_file));
    if (auto s = barrier::auto_unseal(seal, barrier::unseal_key_file(cfg.unseal_key_file), fresh_store); !s) {
      if (s.err().code == make_error_code(errc::invalid_request)) return usage_error(s.err().message);
      spdlog::error("{}", s.err().message);
      std::fprintf(stderr, "credbroker server: %s\n", s.err().message.c_str());
      return 1;
    }
  }
  {
    const auto st = seal.status();
    if (!st.initialized) {
      spdlog::warn("storage is not initialised: run \"credbroker operator init\" against this server");
    } else if (st.sealed) {
      spdlog::warn("sealed: give {} unseal keys with \"credbroker operator unseal\"", st.threshold);
    }
  }
  // The one timer of the process (lease expiry and retries, rotations, periodic jobs; driven on the
  // io_context below while unsealed) and the one pool for blocking calls, capped per database
  // connection (docs/architecture.md lists every thread). Stopped in order at the end.
  scheduler timers(wall.now());
  blocking_executor blocking({cfg.executor_threads, cfg.revocation.per_connection});
  blocking.set_cap("startup", 1);  // one restore at a time (seal and unseal again: the next waits)
  // Leases: durable through the barrier; the index is rebuilt at every unseal, and the scheduler
  // hands due leases to revocation. Revocation goes to the database engine of the lease's mount.
  plugin::registry plugin_registry;
  plugins::register_builtin_plugins(plugin_registry);
  plugin::meter_plugins(plugin_registry);  // vault_database_* (metered_plugin.hpp)
  engine::engine_router engines;
  engine::password_policies password_policies(encrypted);
  leases::manager_options lease_opts;
  lease_opts.limits = {cfg.default_lease_ttl, cfg.max_lease_ttl};
  lease_opts.max_attempts = static_cast<int>(cfg.revocation.max_attempts);
  lease_opts.backoff_base = cfg.revocation.backoff_base;
  lease_opts.backoff_cap = cfg.revocation.backoff_cap;
  lease_opts.irrevocable_retry = cfg.revocation.irrevocable_retry;
  lease_opts.token_index_key = [&tokens](const std::string& accessor) { return tokens.accessor_key(accessor); };
  leases::metered_revoker revoker(engines, wall, lease_opts.max_attempts);  // vault_expire_* (metered_revoker.hpp)
  leases::lease_manager lease_mgr(encrypted, revoker, wall, timers, blocking, lease_opts);

  // Revoking a token revokes the leases it created.
  tokens.on_revoke([&lease_mgr](const std::string& accessor) {
    if (auto s = lease_mgr.expire_by_token(accessor); !s) {
      spdlog::error("leases of a revoked token could not be scheduled for revocation: {}", s.err().message);
    }
  });

  api::seal_services seal_routes{seal, encrypted, tokens};
  api::auth_mounts auth_methods(encrypted, tokens, wall);
  engine::rotation_scheduler rotations(timers, blocking);
  api::secret_mounts secret_engines(api::engine_services{encrypted, plugin_registry, lease_mgr, password_policies, engines,
                                                         wall, lease_opts.limits, &rotations});
  api::response_wrapping wrapping(encrypted, tokens);  // wrapped responses through the barrier
  // Audit devices (core/audit): opened at every unseal before a request is served, closed at seal,
  // reopened on SIGHUP (log rotation). Every request and response passes them (docs/audit.md).
  audit::audit_broker audit_broker(wall);
  audit::audit_table audit_devices(encrypted, audit_broker, {cfg.allow_audit_log_prefixing});
  seal.on_unseal([&audit_devices] { (void)audit_devices.load(); });
  seal.on_seal([&audit_devices] { audit_devices.unload(); });
  if (!seal.status().sealed) (void)audit_devices.load();
  // Telemetry (docs/telemetry.md): sys/metrics, the node's scrape-time series, the audit failure
  // counters (the audit broker counts into them), and the periodic census of leases and rotations.
  const api::metrics_services metrics{telemetry::global_registry(),
                                      {cfg.telemetry.unauthenticated_metrics_access, cfg.telemetry.prometheus_retention_time,
                                       cfg.telemetry.disable_hostname,
                                       cfg.cluster_name.empty() ? "credbroker-cluster" : cfg.cluster_name}};
  const auto node_metrics = api::watch_node(telemetry::global_registry(), seal, &lease_mgr);
  telemetry::register_audit_failures();
  engine::usage_gauges usage(encrypted, engines, wall);
  api::service svc(api::services{seal, tokens, &seal_routes, &lease_mgr, &wall, &policies, &tokens, &auth_methods,
                                 &secret_engines, &password_policies, &audit_devices, &audit_broker, &metrics, &wrapping});
  // At every unseal: the default policy and the mount tables first (fast), so the engines exist
  // before any lease fires; then, in the background while the API already serves, the lease index is
  // rebuilt from storage (leases that expired while the broker was down fire at once) and leases left
  // pending by a crash (between writing a lease and creating its user) are settled with user_exists.
  // A database that is down holds up neither the start nor the other leases.
  auto restore_in_background = [&lease_mgr, &secret_engines, &rotations, &usage] {
    // Rotations cut by a crash first (revocations need a working root login), then the schedule.
    secret_engines.recover_rotations();
    rotations.start();
    const auto started = std::chrono::steady_clock::now();
    auto report = lease_mgr.restore();
    if (!report) {
      spdlog::error("lease restore failed: {}", report.err().message);
      return;
    }
    for (const auto& id : report->unreadable) {
      spdlog::error("lease {} could not be restored: its record is unreadable; it is kept", id);
    }
    spdlog::info("restored {} leases in {:.3f}s", report->restored,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    secret_engines.resolve_pending();
    usage.refresh();  // the first census of leases and rotations for the metrics
  };
  auto on_unsealed = [&] {
    if (auto s = policies.ensure_default(); !s) spdlog::error("default policy: {}", s.err().message);
    if (auto s = auth_methods.load(); !s) spdlog::error("auth methods: {}", s.err().message);
    if (auto s = secret_engines.load(); !s) spdlog::error("secrets engines: {}", s.err().message);
    blocking.post("startup", blocking_executor::task([restore_in_background](bool run) {
      if (run) restore_in_background();
    }));
  };
  seal.on_unseal(on_unsealed);
  seal.on_seal([&auth_methods, &secret_engines] {
    auth_methods.unload();
    secret_engines.unload();
  });
  if (!seal.status().sealed) on_unsealed();
  // Tasks on the executor use everything above: it stops (queued tasks cancelled, running ones
  // finished) before any of it is destroyed, on every way out of this function.
  struct stop_on_exit {
    blocking_executor& e;
    ~stop_on_exit() { e.stop(); }
  } stop_blocking{blocking};
  periodic_jobs periodic(timers, blocking, wall);
  // Connections whose databases can list their users (Redis) are compared with their leases.
  periodic.add("reconcile", std::chrono::seconds(5), [&secret_engines, &seal] {
    if (!seal.status().sealed) secret_engines.reconcile_due();
  });
  // Expired tokens are revoked when presented; this sweep catches the ones nobody presents.
  periodic.add("token-tidy", std::chrono::minutes(1), [&tokens, &seal] {
    if (!seal.status().sealed) tokens.tidy();
  });
  // The census of leases and rotations behind the metrics' gauges (docs/telemetry.md).
  if (cfg.telemetry.usage_gauge_period.count() > 0) {
    periodic.add("usage-census", std::chrono::duration_cast<std::chrono::milliseconds>(cfg.telemetry.usage_gauge_period),
                 [&usage, &seal] {
                   if (!seal.status().sealed) usage.refresh();
                 });
  }

  boost::asio::io_context io;
  // Asks the barrier, not the seal manager: its lock is held across init's and unseal's storage I/O.
  scheduler_driver timer_driver(io, timers, wall, [&encrypted] { return !encrypted.sealed(); });
  boost::asio::thread_pool workers(cfg.worker_threads);
  api::server_options opts;
  opts.body_limit = cfg.listener.max_request_size;
  opts.max_connections = cfg.listener.max_connections;
  opts.header_timeout = cfg.listener.read_header_timeout;
  opts.read_timeout = cfg.listener.read_timeout;
  opts.idle_timeout = cfg.listener.idle_timeout;
  opts.write_timeout = cfg.listener.write_timeout;
  opts.tls = tls;
  opts.forwarded_for = forwarded_for_options(cfg.listener.forwarded_for);
  api::http_server server(io, workers, svc, opts);
  if (auto s = server.listen(cfg.listener.address); !s) {
    spdlog::error("{}", s.err().message);
    std::fprintf(stderr, "credbroker server: %s\n", s.err().message.c_str());
    return 1;
  }
  const auto ep = server.local_endpoint();
  const std::string scheme = tls ? "https" : "http";
  const std::string addr = scheme + "://" + ep.address().to_string() + ":" + std::to_string(ep.port());

  auto control = boost::asio::make_strand(io);
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);
  boost::asio::signal_set hangup(control, SIGHUP);  // reopens the audit devices
  boost::asio::steady_timer deadline(control);
  int exit_code = 0;
  bool shutting_down = false;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (shutting_down) {
        spdlog::warn("second signal {}: stopping now", signo);
        exit_code = 1;
        io.stop();
        return;
      }
      shutting_down = true;
      timer_driver.stop();  // an armed timer would keep io.run() from returning
      spdlog::info("signal {} received: no new connections; finishing requests in flight", signo);
      deadline.expires_after(cfg.shutdown_timeout);
      deadline.async_wait([&](const boost::system::error_code& tec) {
        if (tec) return;
        spdlog::error("shutdown_timeout ({}s) reached with requests still in flight: stopping",
                      cfg.shutdown_timeout.count());
        exit_code = 1;
        io.stop();
      });
      server.shutdown([&] {
        boost::asio::post(control, [&] {
          spdlog::info("all connections closed: exiting");
          boost::system::error_code ignored;
          signals.cancel(ignored);
          hangup.cancel(ignored);
          deadline.cancel();
        });
      });
      wait_signal();
    });
  };
  wait_signal();
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP received: reopening the audit devices' files and sockets");
      audit_devices.reopen();
      wait_hangup();
    });
  };
  wait_hangup();
  server.start();
  timer_driver.start();

  spdlog::info("credbroker v{} listening on {} (storage: {}, io threads: {}, workers: {}, executor threads: {})",
               CREDBROKER_VERSION, addr, cfg.storage.type,
               cfg.io_threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cfg.io_threads,
               cfg.worker_threads, cfg.executor_threads);
  if (dev) {
    // The banner goes to stdout, never to the log.
    std::printf("==> credbroker server started in dev mode: in-memory, unsealed. Do not use it in production.\n");
    std::printf("    Api Address: %s\n", addr.c_str());
    if (generated_token) {
      std::printf("    Root Token: %s\n", root_token.reveal().c_str());
    } else {
      std::printf("    Root Token: (the value given with -dev-root-token-id)\n");
    }
    std::printf("    export VAULT_ADDR='%s'\n", addr.c_str());
    std::fflush(stdout);
  }

  const unsigned n = cfg.io_threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cfg.io_threads;
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  // In order: no more due work (the driver), no more requests (workers), then the blocking calls
  // (queued ones cancelled: a lease not revoked now fires again at the next start).
  timer_driver.stop();
  if (exit_code != 0) workers.stop();
  workers.join();
  blocking.stop();
  spdlog::info("credbroker stopped");
  return exit_code;
}

}  // namespace credbroker
