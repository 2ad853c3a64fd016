// credbroker: a dynamic database credentials broker with HashiCorp Vault's database secrets API.
#include <cstdio>
#include <string>
#include <vector>

#include "broker/commands.hpp"
#include "cli/operator_commands.hpp"

namespace {

constexpr const char* main_help = R"(Usage: credbroker <command> [options]

credbroker issues short-lived PostgreSQL and Redis credentials over HashiCorp Vault's
database secrets engine API, so Vault clients (vault CLI, hvac, node-vault) work unchanged.

Commands:
  server     Start a credbroker server (-dev for an in-memory, unsealed trial server)
  status     Show whether the server is initialised and sealed (exit 0 unsealed, 2 sealed)
  operator   init, unseal, seal
  version    Print the version

Client commands find the server in CREDBROKER_ADDR or VAULT_ADDR (default http://127.0.0.1:8200)
and the token in CREDBROKER_TOKEN or VAULT_TOKEN.

Run "credbroker <command> -help" for a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(main_help, stderr);
    return 2;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "-h" || cmd == "-help" || cmd == "--help" || cmd == "help") {
    std::fputs(main_help, stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "-version" || cmd == "--version") {
    std::printf("credbroker v%s\n", CREDBROKER_VERSION);
    return 0;
  }
  if (cmd == "server") return credbroker::server_command(args);
  if (cmd == "status") return credbroker::cli::status_command(args);
  if (cmd == "operator") return credbroker::cli::operator_command(args);
  std::fprintf(stderr, "credbroker: unknown command \"%s\"\n\n%s", cmd.c_str(), main_help);
  return 2;
}
