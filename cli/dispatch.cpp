// The command table and the dispatcher: `credbroker <path...> [flags] [args]` runs the command
// whose path ("lease renew") is the longest match of the leading words; a group name alone (or
// with -h) prints the group's subcommands.
#include <cstdio>

#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

const command* find_command(const std::string& path) {
  for (const auto& c : all_commands()) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

const command_group* find_group(const std::string& name) {
  static const auto groups = command_groups();
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

std::string group_help(const command_group& g) {
  std::string out = "Usage: credbroker " + g.name + " <subcommand> [options] [args]\n\n  " + g.description + "\n\nSubcommands:\n";
  for (const auto& c : all_commands()) {
    if (c.path.rfind(g.name + " ", 0) == 0) out += "    " + pad(c.path.substr(g.name.size() + 1), 14) + c.synopsis + "\n";
  }
  return out + "\nRun \"credbroker " + g.name + " <subcommand> -help\" for a subcommand's options.\n";
}

bool is_help(const std::string& a) { return a == "-h" || a == "-help" || a == "--help"; }

int run_group(const command_group& g, const std::vector<std::string>& args) {
  if (args.size() >= 2 && is_help(args[1])) {
    std::fputs(group_help(g).c_str(), stdout);
    return exit_code::ok;
  }
  if (args.size() >= 2) std::fprintf(stderr, "credbroker %s: unknown subcommand \"%s\"\n\n", g.name.c_str(), args[1].c_str());
  std::fputs(group_help(g).c_str(), stderr);
  return exit_code::local_error;
}

}  // namespace

std::vector<command_group> command_groups() {
  return {{"lease", "Renew, revoke and look up leases", "Manages the leases of issued credentials."},
          {"token", "Create, look up, renew and revoke tokens", "Manages tokens."},
          {"policy", "Write, read, list and delete ACL policies", "Manages ACL policies."},
          {"secrets", "Enable, list, tune and disable secrets engines", "Manages secrets engine mounts."},
          {"auth", "Enable, list, tune and disable auth methods", "Manages auth methods."},
          {"audit", "Enable, list and disable audit devices", "Manages audit devices."},
          {"operator", "Initialise, unseal and seal the server, new root token, new unseal keys", "Operates the server's seal."}};
}

const std::vector<command>& all_commands() {
  static const std::vector<command> all = [] {
    std::vector<command> out;
    for (auto group : {logical_commands(), login_commands(), lease_commands(), token_commands(), policy_commands(),
                       secrets_commands(), auth_commands(), audit_commands(), operator_commands(), operator_key_commands(), completion_commands()}) {
      out.insert(out.end(), group.begin(), group.end());
    }
    return out;
  }();
  return all;
}

std::optional<int> dispatch(const std::vector<std::string>& args) {
  if (args.empty()) return std::nullopt;
  if (args.size() >= 2) {
    if (const command* c = find_command(args[0] + " " + args[1])) {
      return run_command(*c, std::vector<std::string>(args.begin() + 2, args.end()));
    }
  }
  if (const command* c = find_command(args[0])) return run_command(*c, std::vector<std::string>(args.begin() + 1, args.end()));
  if (const command_group* g = find_group(args[0])) return run_group(*g, args);
  return std::nullopt;
}

std::string commands_summary() {
  std::string out;
  for (const auto& c : all_commands()) {
    if (c.path.find(' ') == std::string::npos) out += "  " + pad(c.path, 11) + c.synopsis + "\n";
  }
  for (const auto& g : command_groups()) out += "  " + pad(g.name, 11) + g.synopsis + "\n";
  return out;
}

}  // namespace credbroker::cli
