#include "cli/flags.hpp"

#include <algorithm>

namespace credbroker::cli {

bool parsed_flags::flag(const std::string& name) const {
  auto it = values.find(name);
  return it != values.end() && (it->second == "true" || it->second == "1");
}

std::string parsed_flags::value(const std::string& name, const std::string& dflt) const {
  auto it = values.find(name);
  return it == values.end() ? dflt : it->second;
}

result<parsed_flags> parse_flags(const std::vector<flag_spec>& specs, const std::vector<std::string>& args) {
  parsed_flags out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i), args.end());
      break;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") {
      out.help = true;
      continue;
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const flag_spec& s) { return s.name == name; });
    if (spec == specs.end()) {
      return make_error(errc::invalid_request, "flag provided but not defined: -" + name);
    }
    if (spec->takes_value) {
      if (!has_value) {
        if (i + 1 >= args.size()) return make_error(errc::invalid_request, "flag needs an argument: -" + name);
        value = args[++i];
      }
      out.values[name] = value;
    } else {
      if (has_value && value != "true" && value != "false" && value != "1" && value != "0") {
        return make_error(errc::invalid_request,
                          "invalid boolean value \"" + value + "\" for -" + name + ": expected true or false");
      }
      out.values[name] = has_value ? (value == "1" ? "true" : value == "0" ? "false" : value) : "true";
    }
  }
  return out;
}

std::string describe_flags(const std::vector<flag_spec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::string left = "  -" + s.name + (s.takes_value ? " " + s.value_name : "");
    if (left.size() < 32) left.resize(32, ' ');
    else left += "\n" + std::string(32, ' ');
    out += left + s.help + "\n";
  }
  return out;
}

}  // namespace credbroker::cli
