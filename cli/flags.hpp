#pragma once
// Command-line flags in Go's style, as Vault's CLI takes them:
//   -name value   -name=value   --name value   --name=value   -bool   -bool=false
// Parsing stops at the first argument that is not a flag ("-" alone is an argument, stdin), or
// after "--". A flag given twice keeps its last value in `values`; a `repeatable` flag also keeps
// every value, in order, in `lists` (Vault's -policy=a -policy=b; a comma list "-policy=a,b" is
// split when `split_commas` is set, as Vault's StringSliceVar does).
//
// Example: specs {format (value), force (bool, alias f), policy (repeatable, split_commas)} and
//   -f -policy=a,b -policy c -format json secret/x k=v
// give values {force:true, policy:c, format:json}, lists {policy:[a,b,c]},
// positional [secret/x, k=v].
//
// Thread: pure functions.
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
  std::vector<std::string> aliases = {};  // other names stored under `name` ("f" for "force")
  bool repeatable = false;                // every occurrence kept in parsed_flags::lists
  bool split_commas = false;              // with repeatable: "-policy=a,b" is two values
};

struct parsed_flags {
  std::map<std::string, std::string> values;  // booleans map to "true"/"false"
  std::map<std::string, std::vector<std::string>> lists;  // repeatable flags, every value in order
  std::vector<std::string> positional;
  bool help = false;  // -h, -help, --help

  bool has(const std::string& name) const { return values.contains(name); }
  bool flag(const std::string& name) const;
  std::string value(const std::string& name, const std::string& dflt = "") const;
  std::vector<std::string> all(const std::string& name) const;
};

result<parsed_flags> parse_flags(const std::vector<flag_spec>& specs, const std::vector<std::string>& args);

// Positional arguments that look like one of `specs`' flags ("-format=json" after the path): Vault
// warns that flags must come before arguments; the caller prints the warning.
std::vector<std::string> flags_after_arguments(const std::vector<flag_spec>& specs,
                                               const std::vector<std::string>& positional);

// "  -config FILE     help text" lines for a usage message.
std::string describe_flags(const std::vector<flag_spec>& specs);

}  // namespace credbroker::cli
