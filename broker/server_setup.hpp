#pragma once
// server_setup: what `credbroker server`'s flags and configuration file ask for, and the exit
// codes of its errors (0 success, 1 runtime failure, 2 usage or configuration error).
//   credbroker server -config /etc/credbroker.json -log-level debug
//     -> {cfg from the file, log_level "debug"}, logging configured
//   credbroker server -dev -dev-listen-address 127.0.0.1:8300
//     -> {dev, in-memory storage, listener 127.0.0.1:8300, tls off}
// Thread: the main thread, before anything else runs.
#include <optional>
#include <string>
#include <vector>

#include "broker/config/server_config.hpp"
#include "broker/core/error.hpp"

namespace credbroker::server {

// What the flags and the configuration file ask for.
struct server_setup {
  config::server_config cfg;
  bool dev = false;
  bool fresh_store = false;
  std::optional<std::string> dev_root_token;  // dev: given with -dev-root-token-id or VAULT_DEV_ROOT_TOKEN_ID
};

// Flags, then the file (or dev mode's settings), then the logging. nullopt with `exit_code` set:
// stop here (help printed, or a usage error).
std::optional<server_setup> parse_setup(const std::vector<std::string>& args, int& exit_code);

// Print the error and give the exit code: a usage or configuration error (2), a runtime failure
// (1), a node error (errc::invalid_request is the configuration's fault, anything else the
// environment's).
int usage_error(const std::string& message);
int runtime_error(const std::string& message);
int node_error(const error& e);

}  // namespace credbroker::server
