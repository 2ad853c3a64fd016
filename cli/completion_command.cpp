// completion bash: prints a bash completion script for every client command, made from the same
// command table the CLI dispatches on (so it cannot fall behind). Install it with
//   credbroker completion bash > /etc/bash_completion.d/credbroker     (all users), or
//   source <(credbroker completion bash)                             (in ~/.bashrc)
// It completes command and subcommand names, each command's flags (value flags as "-name=",
// -format= values), and falls back to file names for arguments (policy files, @file values).
#include <map>
#include <set>

#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

std::string join(const std::set<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// path ("" for the top level) -> the words that may follow it: subcommands or flags.
std::map<std::string, std::set<std::string>> completion_words() {
  std::map<std::string, std::set<std::string>> words;
  words[""] = {"server", "version", "help"};
  for (const auto& g : command_groups()) words[""].insert(g.name);
  for (const auto& c : all_commands()) {
    const auto space = c.path.find(' ');
    if (space == std::string::npos) words[""].insert(c.path);
    else words[c.path.substr(0, space)].insert(c.path.substr(space + 1));
    auto& flags = words[c.path];
    flags.insert("-help");
    for (const auto& f : c.flags) flags.insert("-" + f.name + (f.takes_value ? "=" : ""));
  }
  return words;
}

std::string bash_script() {
  std::string cases;
  for (const auto& [path, words] : completion_words()) cases += "    \"" + path + "\") words=\"" + join(words) + "\" ;;\n";
  return "# bash completion for credbroker: credbroker completion bash > /etc/bash_completion.d/credbroker\n"
         "_credbroker_words() {\n"
         "  case \"$1\" in\n" +
         cases +
         "    *) words=\"\" ;;\n"
         "  esac\n"
         "}\n"
         "_credbroker() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" words i w\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    [[ $w == -* ]] && break\n"
         "    _credbroker_words \"${path:+$path }$w\"\n"
         "    [[ -z $words ]] && break\n"
         "    path=\"${path:+$path }$w\"\n"
         "  done\n"
         "  if [[ $cur == -format=* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"table json yaml\" -- \"${cur#-format=}\"))\n"
         "    return\n"
         "  fi\n"
         "  _credbroker_words \"$path\"\n"
         "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace\n"
         "}\n"
         "complete -o default -F _credbroker credbroker\n";
}

int completion_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  if (inv.args[0] != "bash") return local_error("Unsupported shell \"" + inv.args[0] + "\": credbroker completes bash");
  std::fputs(bash_script().c_str(), stdout);
  return exit_code::ok;
}

}  // namespace

std::vector<command> completion_commands() {
  return {{"completion", "Print a shell completion script",
           "Usage: credbroker completion bash\n\n"
           "  Prints a bash completion script for credbroker's commands and flags. Install it with\n\n"
           "      $ credbroker completion bash > /etc/bash_completion.d/credbroker\n\n"
           "  or add `source <(credbroker completion bash)` to ~/.bashrc.\n",
           {},
           completion_run}};
}

}  // namespace credbroker::cli
