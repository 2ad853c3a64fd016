// read, write, list, delete: Vault's generic commands on any API path (vault CLI's command/read.go,
// write.go, list.go, delete.go). K=V arguments: cli/kv_args.hpp; read and delete send them as the
// query string, write as the JSON body.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/kv_args.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// K=V data as a query string ("" when none); list values repeat the key.
std::string query_string(const json& data) {
  std::string q;
  if (!data.is_object()) return q;
  for (auto it = data.begin(); it != data.end(); ++it) {
    const json values = it->is_array() ? *it : json::array({*it});
    for (const auto& v : values) {
      q += (q.empty() ? "?" : "&") + percent_encode(it.key()) + "=" + percent_encode(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return q;
}

result<json> kv_data(const invocation& inv, std::size_t first) {
  std::vector<std::string> kv(inv.args.begin() + static_cast<long>(std::min(first, inv.args.size())), inv.args.end());
  auto data = parse_kv_args(kv, std::cin);
  if (!data) return make_error(errc::invalid_request, "Failed to parse K=V data: " + data.err().message);
  return data;
}

int read_run(const invocation& inv) {
  if (inv.args.empty()) return *check_arg_count(inv, 1, 1);
  const std::string path = sanitize_path(inv.args[0]);
  auto data = kv_data(inv, 1);
  if (!data) return local_error(data.err().message);
  auto r = send(inv.client(), "GET", path + query_string(*data), nullptr, true);
  if (!r) return remote_error("Error reading " + path + ": " + r.err().message);
  if (!*r) return remote_error("No value found at " + path);
  return print_secret(inv, **r);
}

int write_run(const invocation& inv) {
  if (inv.args.empty()) return *check_arg_count(inv, 1, 1);
  if (inv.args.size() == 1 && !inv.flags.flag("force")) return local_error("Must supply data or use -force");
  const std::string path = sanitize_path(inv.args[0]);
  auto data = kv_data(inv, 1);
  if (!data) return local_error(data.err().message);
  auto r = send(inv.client(), "PUT", path, &*data);
  if (!r) return remote_error("Error writing data to " + path + ": " + r.err().message);
  if (!*r) {
    if (inv.format == output_format::table) print_output("Success! Data written to: " + path);
    return exit_code::ok;
  }
  return print_secret(inv, **r);
}

int list_keys(const invocation& inv, const std::string& path, const std::optional<json>& secret) {
  const json* keys = nullptr;
  if (secret && secret->is_object() && secret->contains("data") && (*secret)["data"].is_object() &&
      (*secret)["data"].contains("keys") && (*secret)["data"]["keys"].is_array()) {
    keys = &(*secret)["data"]["keys"];
  }
  if (inv.format != output_format::table && keys == nullptr) {
    print_output(format_data(json::object(), inv.format));
    return exit_code::remote_error;
  }
  if (!secret) return remote_error("No value found at " + path);
  if (keys == nullptr) return remote_error("No entries found at " + path);
  if (inv.format == output_format::table) std::fputs(warnings_text(*secret).c_str(), stderr);
  return print_output(format_keys(*keys, inv.format));
}

int list_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string path = sanitize_path(inv.args[0]);
  auto r = send(inv.client(), "LIST", path, nullptr, true);
  if (!r) return remote_error("Error listing " + path + ": " + r.err().message);
  return list_keys(inv, path, *r);
}

int delete_run(const invocation& inv) {
  if (inv.args.empty()) return *check_arg_count(inv, 1, 1);
  const std::string path = sanitize_path(inv.args[0]);
  auto data = kv_data(inv, 1);
  if (!data) return local_error(data.err().message);
  auto r = send(inv.client(), "DELETE", path + query_string(*data));
  if (!r) return remote_error("Error deleting " + path + ": " + r.err().message);
  if (!*r) {
    if (inv.format == output_format::table) print_output("Success! Data deleted (if it existed) at: " + path);
    return exit_code::ok;
  }
  return print_secret(inv, **r);
}

}  // namespace

std::vector<command> logical_commands() {
  const auto with_field = flag_list({http_flags(), output_flags(true)});
  return {
      {"read", "Read data and generate credentials",
       "Usage: credbroker read [options] PATH [K=V...]\n\n"
       "  Reads data at PATH: a credential, a configuration, a role. K=V pairs are sent as query\n"
       "  parameters.\n\n"
       "      $ credbroker read database/creds/app\n"
       "      $ credbroker read -field=password database/static-creds/billing\n"
       "      $ credbroker read -format=json database/config/main\n",
       with_field, read_run},
      {"write", "Write data, configuration and secrets",
       "Usage: credbroker write [options] PATH [K=V...]\n\n"
       "  Writes data to PATH. Values: key=value, key=@file (the file's contents), key=- (stdin),\n"
       "  @file or - alone (a JSON object), a repeated key makes a list. -force writes with no data\n"
       "  (the body null), for paths that take none.\n\n"
       "      $ credbroker write database/roles/app db_name=main creation_statements=@create.sql default_ttl=1h\n"
       "      $ credbroker write -f database/rotate-root/main\n",
       flag_list({with_field, {{"force", false, "", "Allow the write with no K=V data (alias -f).", {"f"}}}}), write_run},
      {"list", "List data or secrets",
       "Usage: credbroker list [options] PATH\n\n"
       "  Lists the keys at PATH.\n\n"
       "      $ credbroker list database/roles\n"
       "      $ credbroker list sys/leases/lookup/database/creds/app\n",
       flag_list({http_flags(), output_flags(false)}), list_run},
      {"delete", "Delete secrets and configuration",
       "Usage: credbroker delete [options] PATH [K=V...]\n\n"
       "  Deletes the data at PATH (K=V pairs are sent as query parameters).\n\n"
       "      $ credbroker delete database/roles/app\n",
       with_field, delete_run},
  };
}

}  // namespace credbroker::cli
