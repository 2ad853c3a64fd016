#include "broker/server_setup.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "broker/commands.hpp"
#include "broker/core/logging.hpp"
#include "cli/flags.hpp"

namespace credbroker::server {
namespace {

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


}  // namespace

int usage_error(const std::string& message) {
  std::fprintf(stderr, "credbroker server: %s\n\nRun \"credbroker server -help\" for usage.\n", message.c_str());
  return 2;
}

int runtime_error(const std::string& message) {
  spdlog::error("{}", message);
  std::fprintf(stderr, "credbroker server: %s\n", message.c_str());
  return 1;
}

int node_error(const error& e) {
  if (e.code == make_error_code(errc::invalid_request)) return usage_error(e.message);
  return runtime_error(e.message);
}


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


}  // namespace credbroker::server
