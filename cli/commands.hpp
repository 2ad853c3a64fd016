#pragma once
// The client commands, one file per group, each listing its commands (command.hpp):
//   logical_commands.cpp   read, write, list, delete                 (any API path)
//   lease_commands.cpp     lease renew|revoke|lookup                 (sys/leases/*)
//   token_commands.cpp     token create|lookup|renew|revoke|capabilities (auth/token/*, sys/capabilities*)
//   policy_commands.cpp    policy write|read|list|delete             (sys/policies/acl/*)
//   secrets_commands.cpp   secrets enable|list|tune|disable          (sys/mounts/*)
//   auth_commands.cpp      auth enable|list|tune|disable             (sys/auth/*, sys/mounts/auth/*/tune)
//   audit_commands.cpp     audit enable|list|disable                 (sys/audit/*)
//   login_command.cpp      login                                     (token lookup-self, auth/<method>/login)
//   operator_commands.cpp  status, operator init|unseal|seal         (sys/seal-status, sys/init, ...)
//   operator_key_commands.cpp operator generate-root|rekey          (sys/generate-root/*, sys/rekey/*)
//   completion_command.cpp completion bash                           (a bash completion script)
// dispatch.cpp finds a command by its longest matching path and prints group help.
#include <string>
#include <vector>

#include "cli/command.hpp"

namespace credbroker::cli {

std::vector<command> logical_commands();
std::vector<command> lease_commands();
std::vector<command> token_commands();
std::vector<command> policy_commands();
std::vector<command> secrets_commands();
std::vector<command> auth_commands();
std::vector<command> audit_commands();
std::vector<command> login_commands();
std::vector<command> operator_commands();
std::vector<command> operator_key_commands();
std::vector<command> completion_commands();

// A command group ("lease"): its one-line synopsis and the text above its subcommand list.
struct command_group {
  std::string name;
  std::string synopsis;
  std::string description;
};
std::vector<command_group> command_groups();

// Every client command, in help order.
const std::vector<command>& all_commands();

// Runs `credbroker <args...>` for a client command or group; nullopt when args[0] names none.
std::optional<int> dispatch(const std::vector<std::string>& args);

// The "Commands:" lines of the top-level help (client commands and groups, one line each).
std::string commands_summary();

}  // namespace credbroker::cli
