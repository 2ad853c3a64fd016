// "credbroker server": parse flags and config, build the node (broker/node) and the API above it,
// serve until SIGTERM/SIGINT. The node owns and orders the components; this file only composes.
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

#include <functional>
#include <optional>

#include "api/http_server.hpp"
#include "api/response_wrapping.hpp"
#include "api/service.hpp"
#include "api/standby_forwarding.hpp"
#include "api/sys_metrics.hpp"
#include "broker/commands.hpp"
#include "broker/config/server_config.hpp"
#include "broker/core/cidr.hpp"
#include "broker/core/logging.hpp"
#include "broker/mounts/auth_mounts.hpp"
#include "broker/mounts/secret_mounts.hpp"
#include "broker/node/node.hpp"
#include "broker/storage/rename.hpp"
#include "broker/telemetry/audit_source.hpp"
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
                  auth::token_store::new_salt, {"auth/token/id/", mounts::auth_mounts::data_prefix}});
  layout.require({mounts::secret_mounts::table_key, "the secrets engine mount table",
                  "every secrets engine mount is dropped with its roles and connections; its leases stay and are "
                  "revoked when due",
                  [] { return std::string("[]"); }, {"logical/", leases::lease_storage_prefix}});
  layout.require({mounts::auth_mounts::table_key, "the auth method table",
                  "every auth method (AppRole) is dropped with its roles and secret IDs",
                  [] { return std::string("[]"); }, {mounts::auth_mounts::data_prefix}});
  layout.add_upgrade({2, "token and secret-ID accessors in storage keys replaced by their HMACs", [&store, &tokens] {
                        if (auto s = tokens.salt_accessor_keys(); !s) return s;
                        if (auto s = auth::approle_backend::salt_accessor_keys(store, tokens, mounts::auth_mounts::data_prefix); !s) {
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

int runtime_error(const std::string& message) {
  spdlog::error("{}", message);
  std::fprintf(stderr, "credbroker server: %s\n", message.c_str());
  return 1;
}

// A node error: errc::invalid_request is the configuration's fault (exit 2), anything else the
// environment's (exit 1).
int node_error(const error& e) {
  if (e.code == make_error_code(errc::invalid_request)) return usage_error(e.message);
  return runtime_error(e.message);
}

// What the flags and the configuration file ask for.
struct server_setup {
  config::server_config cfg;
  bool dev = false;
  bool fresh_store = false;
  std::optional<std::string> dev_root_token;  // dev: given with -dev-root-token-id or VAULT_DEV_ROOT_TOKEN_ID
};

// Flags, then the file (or dev mode's settings), then the logging. nullopt with `exit_code` set:
// stop here (help printed, or a usage error).
std::optional<server_setup> parse_setup(const std::vector<std::string>& args, int& exit_code) {
  exit_code = 0;
  auto flags = cli::parse_flags(server_flags, args);
  if (!flags) return exit_code = usage_error(flags.err().message), std::nullopt;
  if (flags->help) {
    std::fputs(server_help, stdout);
    std::fputs(cli::describe_flags(server_flags).c_str(), stdout);
    return std::nullopt;
  }
  if (!flags->positional.empty()) {
    return exit_code = usage_error("unexpected argument \"" + flags->positional.front() + "\""), std::nullopt;
  }
  server_setup out;
  out.dev = flags->flag("dev");
  if (out.dev == flags->has("config")) return exit_code = usage_error("exactly one of -config FILE or -dev is required"), std::nullopt;
  out.fresh_store = flags->flag("fresh-store");
  if (out.dev && out.fresh_store) {
    return exit_code = usage_error("-fresh-store needs -config: dev mode always starts fresh"), std::nullopt;
  }
  auto& cfg = out.cfg;
  if (out.dev) {
    cfg.listener.address = flags->value("dev-listen-address", "127.0.0.1:8200");
    if (!config::valid_listen_address(cfg.listener.address)) {
      return exit_code = usage_error("-dev-listen-address: expected host:port such as 127.0.0.1:8200, got \"" +
                                     cfg.listener.address + "\""),
             std::nullopt;
    }
    cfg.listener.tls_disable = true;
    cfg.storage.type = "inmem";
    cfg.api_addr = "http://" + cfg.listener.address;
    cfg.telemetry.unauthenticated_metrics_access = true;  // as Vault's -dev
    std::string given = flags->value("dev-root-token-id");
    if (given.empty()) {
      if (const char* env = std::getenv("VAULT_DEV_ROOT_TOKEN_ID")) given = env;
    }
    if (!given.empty()) out.dev_root_token = given;
  } else {
    if (flags->has("dev-root-token-id") || flags->has("dev-listen-address")) {
      return exit_code = usage_error("-dev-root-token-id and -dev-listen-address need -dev"), std::nullopt;
    }
    auto loaded = config::load_server_config(flags->value("config"));
    if (!loaded) return exit_code = usage_error(loaded.err().message), std::nullopt;
    cfg = std::move(*loaded);
  }
  if (flags->has("log-level")) cfg.log_level = flags->value("log-level");
  if (flags->has("log-format")) {
    const auto f = flags->value("log-format");
    if (f == "json") cfg.format = log_format::json;
    else if (f == "standard" || f == "text") cfg.format = log_format::standard;
    else return exit_code = usage_error("-log-format: expected standard or json, got \"" + f + "\""), std::nullopt;
  }
  if (auto s = configure_logging(cfg.log_level, cfg.format); !s) return exit_code = usage_error(s.err().message), std::nullopt;
  return out;
}

// The listener's TLS context; null with tls_disable. A file that does not load is a usage error.
result<std::shared_ptr<boost::asio::ssl::context>> tls_context(const config::listener_config& l) {
  if (l.tls_disable) return std::shared_ptr<boost::asio::ssl::context>();
  auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  boost::system::error_code ec;
  tls->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                       boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                       boost::asio::ssl::context::no_tlsv1_1,
                   ec);
  tls->use_certificate_chain_file(l.tls_cert_file, ec);
  if (ec) return make_error(errc::invalid_request, "listener.tcp.tls_cert_file: cannot load \"" + l.tls_cert_file + "\": " + ec.message());
  tls->use_private_key_file(l.tls_key_file, boost::asio::ssl::context::pem, ec);
  if (ec) return make_error(errc::invalid_request, "listener.tcp.tls_key_file: cannot load \"" + l.tls_key_file + "\": " + ec.message());
  return tls;
}

// The API above the node: the mount tables (stepped up and down by the node through
// node::mount_tables), response wrapping, the metrics, the service, and the standby forwarding
// in front of it all. Built after the node, destroyed before it.
class api_layer final : public node::mount_tables {
 public:
  explicit api_layer(node::node& n)
      : seal_routes_{n.seal(), n.encrypted(), n.tokens()},
        auth_methods_(n.encrypted(), n.tokens(), n.wall()),
        secret_engines_(mounts::engine_services{n.encrypted(), n.plugins(), n.leases(), n.passwords(), n.engines(), n.wall(),
                                             n.limits(), &n.rotations()}),
        wrapping_(n.encrypted(), n.tokens()),  // wrapped responses through the barrier
        metrics_{telemetry::global_registry(),
                 {n.config().telemetry.unauthenticated_metrics_access, n.config().telemetry.prometheus_retention_time,
                  n.config().telemetry.disable_hostname,
                  n.config().cluster_name.empty() ? "credbroker-cluster" : n.config().cluster_name}},
        node_metrics_(api::watch_node(telemetry::global_registry(), n, &n.leases())),
        service_(api::services{n, n.tokens(), &seal_routes_, &n.leases(), &n.wall(), &n.policies(), &n.tokens(),
                               &auth_methods_, &secret_engines_, &n.passwords(), &n.audit_devices(), &n.audit(),
                               &metrics_, &wrapping_}),
        gate_(n, service_, {n.config().disable_clustering}) {
    telemetry::register_audit_failures();  // the audit broker counts into them (docs/telemetry.md)
  }

  const api::request_handler& handler() const { return gate_; }

  void load() override {
    if (auto s = auth_methods_.load(); !s) spdlog::error("auth methods: {}", s.err().message);
    if (auto s = secret_engines_.load(); !s) spdlog::error("secrets engines: {}", s.err().message);
  }
  void unload() override {
    auth_methods_.unload();
    secret_engines_.unload();
  }
  void recover_rotations() override { secret_engines_.recover_rotations(); }
  void resolve_pending() override { secret_engines_.resolve_pending(); }
  void reconcile_due() override { secret_engines_.reconcile_due(); }

 private:
  api::seal_services seal_routes_;
  mounts::auth_mounts auth_methods_;
  mounts::secret_mounts secret_engines_;
  api::response_wrapping wrapping_;
  const api::metrics_services metrics_;
  const std::vector<telemetry::registration> node_metrics_;
  api::service service_;
  api::standby_forwarding gate_;
};

// SIGTERM/SIGINT: stop the timers, stop accepting, let requests in flight finish within
// shutdown_timeout; a second signal stops at once. SIGHUP reopens the audit devices.
class signal_handling {
 public:
  signal_handling(boost::asio::io_context& io, api::http_server& server, node::node& n)
      : io_(io), server_(server), node_(n), control_(boost::asio::make_strand(io)), signals_(control_, SIGINT, SIGTERM),
        hangup_(control_, SIGHUP), deadline_(control_) {}

  void start() {
    wait_signal();
    wait_hangup();
  }
  int exit_code() const { return exit_code_; }

 private:
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (shutting_down_) {
        spdlog::warn("second signal {}: stopping now", signo);
        exit_code_ = 1;
        io_.stop();
        return;
      }
      shutting_down_ = true;
      node_.stop_timers();  // an armed timer would keep io.run() from returning
      spdlog::info("signal {} received: no new connections; finishing requests in flight", signo);
      const auto timeout = node_.config().shutdown_timeout;
      deadline_.expires_after(timeout);
      deadline_.async_wait([this, timeout](const boost::system::error_code& tec) {
        if (tec) return;
        spdlog::error("shutdown_timeout ({}s) reached with requests still in flight: stopping", timeout.count());
        exit_code_ = 1;
        io_.stop();
      });
      server_.shutdown([this] {
        boost::asio::post(control_, [this] {
          spdlog::info("all connections closed: exiting");
          boost::system::error_code ignored;
          signals_.cancel(ignored);
          hangup_.cancel(ignored);
          deadline_.cancel();
        });
      });
      wait_signal();
    });
  }
  void wait_hangup() {
    hangup_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP received: reopening the audit devices' files and sockets");
      node_.audit_devices().reopen();
      wait_hangup();
    });
  }

  boost::asio::io_context& io_;
  api::http_server& server_;
  node::node& node_;
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;  // reopens the audit devices
  boost::asio::steady_timer deadline_;
  int exit_code_ = 0;
  bool shutting_down_ = false;
};

unsigned io_thread_count(const config::server_config& cfg) {
  return cfg.io_threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cfg.io_threads;
}

// The banner of dev mode goes to stdout, never to the log.
void print_dev_banner(const std::string& addr, const std::optional<secret>& made_token) {
  std::printf("==> credbroker server started in dev mode: in-memory, unsealed. Do not use it in production.\n");
  std::printf("    Api Address: %s\n", addr.c_str());
  if (made_token) {
    std::printf("    Root Token: %s\n", made_token->reveal().c_str());
  } else {
    std::printf("    Root Token: (the value given with -dev-root-token-id)\n");
  }
  std::printf("    export VAULT_ADDR='%s'\n", addr.c_str());
  std::fflush(stdout);
}

// The listener until the signals end it, then the stop in order: no more due work (the timers), no
// more requests (the workers), then the node (the leadership released, the executor stopped:
// queued tasks cancelled; a lease not revoked now fires again at the next start).
int serve(node::node& n, const api_layer& api, const std::shared_ptr<boost::asio::ssl::context>& tls, bool dev) {
  const auto& cfg = n.config();
  boost::asio::io_context io;
  // The node's threads and tasks use the API above it: they stop before it is destroyed, on every
  // way out of here (n.stop() is idempotent).
  struct stop_on_exit {
    node::node& n;
    ~stop_on_exit() { n.stop(); }
  } stop_node{n};
  auto made_token = n.start(io);
  if (!made_token) return node_error(made_token.err());
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
  api::http_server server(io, workers, api.handler(), opts);
  if (auto s = server.listen(cfg.listener.address); !s) return runtime_error(s.err().message);
  const auto ep = server.local_endpoint();
  const std::string addr = std::string(tls ? "https" : "http") + "://" + ep.address().to_string() + ":" + std::to_string(ep.port());
  signal_handling signals(io, server, n);
  signals.start();
  server.start();
  const unsigned threads_n = io_thread_count(cfg);
  spdlog::info("credbroker v{} listening on {} (storage: {}{}, io threads: {}, workers: {}, executor threads: {})",
               CREDBROKER_VERSION, addr, cfg.storage.type, n.ha().enabled ? ", HA" : "", threads_n,
               cfg.worker_threads, cfg.executor_threads);
  if (dev) print_dev_banner(addr, *made_token);
  return [&] {
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < threads_n; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    n.stop_timers();
    if (signals.exit_code() != 0) workers.stop();
    workers.join();
    n.stop();
    spdlog::info("credbroker stopped");
    return signals.exit_code();
  }();
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
With storage.postgresql.ha_enabled (and api_addr), several servers share one PostgreSQL table: one
is active, the others are standbys that answer sys/health with 429 and forward every other request
to the active (or answer 307 with disable_clustering); see docs/ha.md.
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
  int exit_code = 0;
  auto setup = parse_setup(args, exit_code);
  if (!setup) return exit_code;
  auto tls = tls_context(setup->cfg.listener);
  if (!tls) return usage_error(tls.err().message);
  node::node_options options;
  options.config = setup->cfg;
  options.dev = setup->dev;
  options.fresh_store = setup->fresh_store;
  options.dev_root_token = setup->dev_root_token;
  options.security_state = register_security_state;
  options.register_plugins = [](plugin::registry& r) { plugins::register_builtin_plugins(r); };
  auto n = node::node::open(std::move(options));
  if (!n) return node_error(n.err());
  api_layer api(**n);
  (*n)->attach(api);
  return serve(**n, api, *tls, setup->dev);
}

}  // namespace credbroker
