#pragma once
// Command-line flags in Go's style, as Vault's CLI takes them:
//   -name value   -name=value   --name value   --name=value   -bool   -bool=false
// Parsing stops at the first argument that is not a flag, or after "--".
#include <map>
#include <string>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::cli {

struct flag_spec {
  std::string name;
  bool takes_value = true;  // false: a boolean switch
  std::string value_name;   // for help: "-config FILE"
  std::string help;
};

struct parsed_flags {
  std::map<std::string, std::string> values;  // booleans map to "true"/"false"
  std::vector<std::string> positional;
  bool help = false;  // -h, -help, --help

  bool has(const std::string& name) const { return values.contains(name); }
  bool flag(const std::string& name) const;
  std::string value(const std::string& name, const std::string& dflt = "") const;
};

result<parsed_flags> parse_flags(const std::vector<flag_spec>& specs, const std::vector<std::string>& args);

// "  -config FILE     help text" lines for a usage message.
std::string describe_flags(const std::vector<flag_spec>& specs);

}  // namespace credbroker::cli
