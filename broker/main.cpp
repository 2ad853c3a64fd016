// credbroker: a dynamic database credentials broker with HashiCorp Vault's database secrets API.
// `credbroker server` runs the broker; every other command is a client of a running server
// (cli/commands.hpp), in the habits of the vault CLI.
#include <cstdio>
#include <string>
#include <vector>

#include "broker/commands.hpp"
#include "cli/commands.hpp"

namespace {

std::string main_help() {
  return "Usage: credbroker <command> [options] [args]\n\n"
         "credbroker issues short-lived PostgreSQL and Redis credentials over HashiCorp Vault's\n"
         "database secrets engine API, so Vault clients (vault CLI, hvac, node-vault) work unchanged.\n\n"
         "Commands:\n"
         "  server     Start a credbroker server (-dev for an in-memory, unsealed trial server)\n" +
         credbroker::cli::commands_summary() +
         "  backup     Copy a running server's SQLite store consistently into a file\n"
         "  restore    Put a backup in place as the store of a server before it starts\n"
         "  version    Print the version\n\n"
         "Client commands find the server in CREDBROKER_ADDR or VAULT_ADDR (default http://127.0.0.1:8200)\n"
         "and the token in CREDBROKER_TOKEN, VAULT_TOKEN or ~/.vault-token (written by \"credbroker login\").\n"
         "Exit codes: 0 success, 1 local error (bad flags or arguments), 2 error from the server.\n\n"
         "Run \"credbroker <command> -help\" for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(main_help().c_str(), stderr);
    return 2;
  }
  const std::string& cmd = args.front();
  if (cmd == "-h" || cmd == "-help" || cmd == "--help" || cmd == "help") {
    std::fputs(main_help().c_str(), stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "-version" || cmd == "--version") {
    std::printf("credbroker v%s\n", CREDBROKER_VERSION);
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "server") return credbroker::server_command(rest);
  if (cmd == "backup") return credbroker::backup_command(rest);
  if (cmd == "restore") return credbroker::restore_command(rest);
  if (auto code = credbroker::cli::dispatch(args)) return *code;
  std::fprintf(stderr, "credbroker: unknown command \"%s\"\n\n%s", cmd.c_str(), main_help().c_str());
  return 2;
}
