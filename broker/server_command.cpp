// "credbroker server": parse flags and config (server_setup), build the node (broker/node) and the
// API above it (api_layer), serve until SIGTERM/SIGINT (signal_handling). The node owns and orders
// the components; this file only composes.
#include <cstdio>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "api/http_server.hpp"
#include "broker/api_layer.hpp"
#include "broker/commands.hpp"
#include "broker/config/server_config.hpp"
#include "broker/core/cidr.hpp"
#include "broker/node/node.hpp"
#include "broker/security_state.hpp"
#include "broker/server_setup.hpp"
#include "broker/signal_handling.hpp"
#include "plugins/builtin.hpp"

namespace credbroker {
namespace {

using server::node_error;
using server::runtime_error;
using server::usage_error;

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
int serve(node::node& n, const server::api_layer& api, const std::shared_ptr<boost::asio::ssl::context>& tls, bool dev) {
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
  server::signal_handling signals(io, server, n);
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
  auto setup = server::parse_setup(args, exit_code);
  if (!setup) return exit_code;
  auto tls = tls_context(setup->cfg.listener);
  if (!tls) return usage_error(tls.err().message);
  node::node_options options;
  options.config = setup->cfg;
  options.dev = setup->dev;
  options.fresh_store = setup->fresh_store;
  options.dev_root_token = setup->dev_root_token;
  options.security_state = server::register_security_state;
  options.register_plugins = [](plugin::registry& r) { plugins::register_builtin_plugins(r); };
  auto n = node::node::open(std::move(options));
  if (!n) return node_error(n.err());
  server::api_layer api(**n);
  (*n)->attach(api);
  return serve(**n, api, *tls, setup->dev);
}

}  // namespace credbroker

