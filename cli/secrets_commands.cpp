// secrets enable | list | tune | disable (vault CLI's command/secrets_*.go) on sys/mounts:
//   enable [-path=P] TYPE   POST sys/mounts/P (default P: TYPE) with the enable body (mount_table.hpp)
//   list [-detailed]        GET sys/mounts
//   tune PATH               POST sys/mounts/PATH/tune with the flags given
//   disable PATH            DELETE sys/mounts/PATH (revokes the mount's leases first)
// credbroker serves one engine type, "database"; the server answers any other with a 400.
#include "cli/commands.hpp"
#include "cli/mount_table.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

int enable_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string type = sanitize_path(inv.args[0]);
  const std::string path = mount_path(inv.flags.value("path", type));
  auto body = mount_enable_body(inv, type);
  if (!body) return local_error(body.err().message);
  auto r = send(inv.client(), "POST", "sys/mounts/" + sanitize_path(path), &*body);
  if (!r) return remote_error("Error enabling: " + r.err().message);
  return print_output("Success! Enabled the " + type + " secrets engine at: " + path);
}

int list_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "GET", "sys/mounts");
  if (!r) return remote_error("Error listing secrets engines: " + r.err().message);
  const json mounts = *r ? mounts_of(**r) : json::object();
  if (inv.format != output_format::table) {
    std::string text = format_data(mounts, inv.format);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return print_output(text);
  }
  return print_output(mount_table(mounts, inv.flags.flag("detailed")));
}

int tune_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string path = mount_path(inv.args[0]);
  auto body = mount_tune_body(inv);
  if (!body) return local_error(body.err().message);
  auto r = send(inv.client(), "POST", "sys/mounts/" + sanitize_path(path) + "/tune", &*body);
  if (!r) return remote_error("Error tuning secrets engine " + path + ": " + r.err().message);
  return print_output("Success! Tuned the secrets engine at: " + path);
}

int disable_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string path = mount_path(inv.args[0]);
  auto r = send(inv.client(), "DELETE", "sys/mounts/" + sanitize_path(path));
  if (!r) return remote_error("Error disabling secrets engine at " + path + ": " + r.err().message);
  return print_output("Success! Disabled the secrets engine (if it existed) at: " + path);
}

}  // namespace

std::vector<command> secrets_commands() {
  return {
      {"secrets enable", "Enable a secrets engine",
       "Usage: credbroker secrets enable [options] TYPE\n\n"
       "  Mounts a secrets engine of TYPE (credbroker serves \"database\") at -path, by default at\n"
       "  TYPE/. Each mount has its own connections, roles and TTL limits.\n\n"
       "      $ credbroker secrets enable database\n"
       "      $ credbroker secrets enable -path=team-a/db -max-lease-ttl=24h database\n",
       flag_list({http_flags(), mount_enable_flags(true)}), enable_run},
      {"secrets list", "List the enabled secrets engines",
       "Usage: credbroker secrets list [options]\n\n"
       "  Lists the mounted secrets engines.\n",
       flag_list({http_flags(), output_flags(false), {{"detailed", false, "", "Show TTLs, options and UUIDs too."}}}), list_run},
      {"secrets tune", "Tune a secrets engine's settings",
       "Usage: credbroker secrets tune [options] PATH\n\n"
       "  Changes the TTL limits or the description of the mount at PATH.\n\n"
       "      $ credbroker secrets tune -default-lease-ttl=1h -max-lease-ttl=24h database/\n",
       flag_list({http_flags(), mount_tune_flags()}), tune_run},
      {"secrets disable", "Disable a secrets engine",
       "Usage: credbroker secrets disable [options] PATH\n\n"
       "  Unmounts the secrets engine at PATH: its leases are revoked (their database users dropped)\n"
       "  first, then its connections and roles are deleted.\n",
       http_flags(), disable_run},
  };
}

}  // namespace credbroker::cli
