#include "cli/flags.hpp"

#include <algorithm>

namespace credbroker::cli {
namespace {

const flag_spec* find_spec(const std::vector<flag_spec>& specs, const std::string& name) {
  for (const auto& s : specs) {
    if (s.name == name || std::find(s.aliases.begin(), s.aliases.end(), name) != s.aliases.end()) return &s;
  }
  return nullptr;
}

// The name and (when "=" is present) value of a flag argument "-name[=value]" / "--name[=value]".
struct flag_token {
  std::string name;
  std::string value;
  bool has_value = false;
};

flag_token split_flag(const std::string& a) {
  flag_token t;
  std::string body = a.substr(a.size() > 1 && a[1] == '-' ? 2 : 1);
  t.name = body;
  if (auto eq = body.find('='); eq != std::string::npos) {
    t.name = body.substr(0, eq);
    t.value = body.substr(eq + 1);
    t.has_value = true;
  }
  return t;
}

void store_value(parsed_flags& out, const flag_spec& spec, const std::string& value) {
  out.values[spec.name] = value;
  if (!spec.repeatable) return;
  auto& list = out.lists[spec.name];
  if (!spec.split_commas) {
    list.push_back(value);
    return;
  }
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    const std::string part = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) list.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

result<std::string> boolean_value(const flag_token& t) {
  if (!t.has_value) return std::string("true");
  if (t.value == "true" || t.value == "1") return std::string("true");
  if (t.value == "false" || t.value == "0") return std::string("false");
  return make_error(errc::invalid_request,
                    "invalid boolean value \"" + t.value + "\" for -" + t.name + ": expected true or false");
}

bool is_flag_argument(const std::string& a) { return a.size() >= 2 && a[0] == '-'; }

}  // namespace

bool parsed_flags::flag(const std::string& name) const {
  auto it = values.find(name);
  return it != values.end() && (it->second == "true" || it->second == "1");
}

std::string parsed_flags::value(const std::string& name, const std::string& dflt) const {
  auto it = values.find(name);
  return it == values.end() ? dflt : it->second;
}

std::vector<std::string> parsed_flags::all(const std::string& name) const {
  auto it = lists.find(name);
  return it == lists.end() ? std::vector<std::string>{} : it->second;
}

result<parsed_flags> parse_flags(const std::vector<flag_spec>& specs, const std::vector<std::string>& args) {
  parsed_flags out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (!is_flag_argument(a)) {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i), args.end());
      break;
    }
    const flag_token t = split_flag(a);
    if (t.name == "h" || t.name == "help") {
      out.help = true;
      continue;
    }
    const flag_spec* spec = find_spec(specs, t.name);
    if (spec == nullptr) return make_error(errc::invalid_request, "flag provided but not defined: -" + t.name);
    if (!spec->takes_value) {
      auto b = boolean_value(t);
      if (!b) return std::move(b).err();
      out.values[spec->name] = *b;
      continue;
    }
    std::string value = t.value;
    if (!t.has_value) {
      if (i + 1 >= args.size()) return make_error(errc::invalid_request, "flag needs an argument: -" + t.name);
      value = args[++i];
    }
    store_value(out, *spec, value);
  }
  return out;
}

std::vector<std::string> flags_after_arguments(const std::vector<flag_spec>& specs,
                                               const std::vector<std::string>& positional) {
  std::vector<std::string> out;
  for (const auto& a : positional) {
    if (!is_flag_argument(a)) continue;
    const flag_token t = split_flag(a);
    if (t.name == "h" || t.name == "help" || find_spec(specs, t.name) != nullptr) out.push_back(a);
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
