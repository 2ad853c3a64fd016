// policy write | read | list | delete (vault CLI's command/policy_*.go) on sys/policies/acl:
//   write NAME FILE|-   PUT sys/policies/acl/NAME {"policy": <HCL or JSON text>}
//   read NAME           GET sys/policies/acl/NAME; the rules as text (table), {"policy": ...} else
//   list                LIST sys/policies/acl; one name per line (table), a JSON/YAML list else
//   delete NAME         DELETE sys/policies/acl/NAME
// Names are lower-cased, as Vault stores them.
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

std::string policy_name(const std::string& raw) {
  std::string s = sanitize_path(raw);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

result<std::string> read_policy_text(const std::string& source) {
  if (source == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream f(source, std::ios::binary);
  if (!f) return make_error(errc::invalid_request, "Error opening policy file: open " + source + ": no such file or not readable");
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

int write_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 2, 2)) return *bad;
  const std::string name = policy_name(inv.args[0]);
  auto rules = read_policy_text(inv.args[1]);
  if (!rules) return local_error(rules.err().message);
  const json body = {{"policy", *rules}};
  auto r = send(inv.client(), "PUT", "sys/policies/acl/" + name, &body);
  if (!r) return remote_error("Error uploading policy: " + r.err().message);
  if (*r) std::fputs(warnings_text(**r).c_str(), stderr);
  return print_output("Success! Uploaded policy: " + name);
}

int read_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string name = policy_name(inv.args[0]);
  auto r = send(inv.client(), "GET", "sys/policies/acl/" + name, nullptr, true);
  if (!r) return remote_error("Error reading policy named " + name + ": " + r.err().message);
  std::string rules;
  if (*r && (**r).contains("data") && (**r)["data"].is_object()) rules = (**r)["data"].value("policy", "");
  if (rules.empty()) return remote_error("No policy named: " + name);
  if (inv.format == output_format::table) {
    while (!rules.empty() && std::isspace(static_cast<unsigned char>(rules.back())) != 0) rules.pop_back();
    return print_output(rules);
  }
  std::string text = format_data(json{{"policy", rules}}, inv.format);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return print_output(text);
}

int list_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "LIST", "sys/policies/acl");
  if (!r) return remote_error("Error listing policies: " + r.err().message);
  json keys = json::array();
  if (*r && (**r).contains("data") && (**r)["data"].is_object()) keys = (**r)["data"].value("keys", json::array());
  std::string text = format_data(keys, inv.format);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return print_output(text);
}

int delete_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string name = policy_name(inv.args[0]);
  auto r = send(inv.client(), "DELETE", "sys/policies/acl/" + name);
  if (!r) return remote_error("Error deleting " + name + ": " + r.err().message);
  return print_output("Success! Deleted policy: " + name);
}

}  // namespace

std::vector<command> policy_commands() {
  return {
      {"policy write", "Upload a policy",
       "Usage: credbroker policy write [options] NAME PATH\n\n"
       "  Uploads the ACL policy in the file PATH (HCL or JSON; \"-\" reads standard input) as NAME,\n"
       "  replacing one of that name.\n\n"
       "      $ credbroker policy write dba dba.hcl\n"
       "      $ echo 'path \"database/creds/app\" { capabilities = [\"read\"] }' | credbroker policy write app -\n",
       http_flags(), write_run},
      {"policy read", "Print a policy",
       "Usage: credbroker policy read [options] NAME\n\n"
       "  Prints the rules of the policy NAME.\n",
       flag_list({http_flags(), output_flags(false)}), read_run},
      {"policy list", "List the policies",
       "Usage: credbroker policy list [options]\n\n"
       "  Lists the names of the ACL policies.\n",
       flag_list({http_flags(), output_flags(false)}), list_run},
      {"policy delete", "Delete a policy",
       "Usage: credbroker policy delete [options] NAME\n\n"
       "  Deletes the policy NAME. Tokens that have it keep the name but lose its rules.\n",
       http_flags(), delete_run},
  };
}

}  // namespace credbroker::cli
