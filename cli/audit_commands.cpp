// audit enable | list | disable (vault CLI's command/audit_*.go), written against Vault's sys/audit
// API (issue 17 item 1 adds these endpoints to the server):
//   enable [-path=P] TYPE [K=V...]  PUT sys/audit/P (default P: TYPE)
//                                   {"type", "description", "options": {K: V}, "local"}
//   list [-detailed]                GET sys/audit; table "Path | Type | Description", or
//                                   "No audit devices are enabled." (exit 2) when there are none
//   disable PATH                    DELETE sys/audit/PATH
#include <iostream>

#include "cli/commands.hpp"
#include "cli/kv_args.hpp"
#include "cli/mount_table.hpp"
#include "cli/table.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

result<json> device_options(const invocation& inv) {
  std::vector<std::string> kv(inv.args.begin() + 1, inv.args.end());
  auto data = parse_kv_args(kv, std::cin);
  if (!data) return make_error(errc::invalid_request, "Failed to parse K=V data: " + data.err().message);
  json options = json::object();
  if (data->is_object()) {
    for (auto it = data->begin(); it != data->end(); ++it) options[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return options;
}

int enable_run(const invocation& inv) {
  if (inv.args.empty()) {
    return local_error("Error enabling audit device: audit type missing. Valid types include 'file' and 'socket'.");
  }
  const std::string type = sanitize_path(inv.args[0]);
  const std::string path = mount_path(inv.flags.value("path", type));
  auto options = device_options(inv);
  if (!options) return local_error(options.err().message);
  const json body = {{"type", type}, {"description", inv.flags.value("description")}, {"options", *options},
                     {"local", inv.flags.flag("local")}};
  auto r = send(inv.client(), "PUT", "sys/audit/" + sanitize_path(path), &body);
  if (!r) return remote_error("Error enabling audit device: " + r.err().message);
  return print_output("Success! Enabled the " + type + " audit device at: " + path);
}

std::string audit_table(const json& devices, bool detailed) {
  std::vector<table_row> rows;
  for (auto it = devices.begin(); it != devices.end(); ++it) {
    const json& d = *it;
    const std::string path = d.value("path", it.key());
    if (!detailed) {
      rows.push_back({path, d.value("type", ""), d.value("description", "")});
      continue;
    }
    std::string options;
    const json opts = d.value("options", json::object());
    for (auto o = opts.begin(); o != opts.end(); ++o) options += (options.empty() ? "" : " ") + o.key() + "=" + value_text(*o);
    rows.push_back({path, d.value("type", ""), d.value("description", ""), d.value("local", false) ? "local" : "replicated", options});
  }
  if (!detailed) return table_output({"Path", "Type", "Description"}, rows);
  return table_output({"Path", "Type", "Description", "Replication", "Options"}, rows);
}

int list_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "GET", "sys/audit");
  if (!r) return remote_error("Error listing audits: " + r.err().message);
  const json devices = *r ? mounts_of(**r) : json::object();
  if (inv.format != output_format::table) {
    std::string text = format_data(devices, inv.format);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return print_output(text);
  }
  if (devices.empty()) {
    print_output("No audit devices are enabled.");
    return exit_code::remote_error;
  }
  return print_output(audit_table(devices, inv.flags.flag("detailed")));
}

int disable_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string path = mount_path(inv.args[0]);
  auto r = send(inv.client(), "DELETE", "sys/audit/" + sanitize_path(path));
  if (!r) return remote_error("Error disabling audit device: " + r.err().message);
  return print_output("Success! Disabled audit device (if it was enabled) at: " + path);
}

}  // namespace

std::vector<command> audit_commands() {
  return {
      {"audit enable", "Enable an audit device",
       "Usage: credbroker audit enable [options] TYPE [K=V...]\n\n"
       "  Enables an audit device of TYPE (file or socket) at -path, by default at TYPE/. K=V pairs are\n"
       "  the device's options (file_path, mode, format, prefix, hmac_accessor, log_raw, ...).\n\n"
       "      $ credbroker audit enable file file_path=/var/log/credbroker/audit.log\n"
       "      $ credbroker audit enable -path=stdout file file_path=stdout\n",
       flag_list({http_flags(),
                  {{"path", true, "PATH", "Where to enable the device (default: TYPE)."},
                   {"description", true, "TEXT", "A human-friendly description."},
                   {"local", false, "", "Do not replicate the device (kept for the vault CLI's flag set)."}}}),
       enable_run},
      {"audit list", "List the enabled audit devices",
       "Usage: credbroker audit list [options]\n\n"
       "  Lists the enabled audit devices (exit 2 when there are none).\n",
       flag_list({http_flags(), output_flags(false), {{"detailed", false, "", "Show replication and options too."}}}), list_run},
      {"audit disable", "Disable an audit device",
       "Usage: credbroker audit disable [options] PATH\n\n"
       "  Disables the audit device at PATH.\n",
       http_flags(), disable_run},
  };
}

}  // namespace credbroker::cli
