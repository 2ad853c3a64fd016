#pragma once
// Client subcommands that talk to a running server over HTTP (Vault CLI compatible output):
//   credbroker status                     GET sys/seal-status; exit 0 unsealed, 2 sealed, 1 error
//   credbroker operator init [...]        PUT sys/init; prints unseal keys and the root token
//   credbroker operator unseal [KEY|-]    PUT sys/unseal; KEY from the argument or one line of stdin
//   credbroker operator seal              PUT sys/seal (root token)
#include <string>
#include <vector>

namespace credbroker::cli {

int status_command(const std::vector<std::string>& args);
int operator_command(const std::vector<std::string>& args);

}  // namespace credbroker::cli
