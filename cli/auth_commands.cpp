// auth enable | list | tune | disable (vault CLI's command/auth_*.go):
//   enable [-path=P] TYPE   POST sys/auth/P (default P: TYPE) with the enable body (mount_table.hpp)
//   list [-detailed]        GET sys/auth
//   tune PATH               POST sys/mounts/auth/PATH/tune, where the vault CLI sends it
//   disable PATH            DELETE sys/auth/PATH (revokes the tokens it issued)
// credbroker serves the "approle" method type (and the built-in token/).
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
  auto r = send(inv.client(), "POST", "sys/auth/" + sanitize_path(path), &*body);
  if (!r) return remote_error("Error enabling " + type + " auth: " + r.err().message);
  return print_output("Success! Enabled " + type + " auth method at: " + path);
}

int list_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "GET", "sys/auth");
  if (!r) return remote_error("Error listing enabled authentications: " + r.err().message);
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
  auto r = send(inv.client(), "POST", "sys/mounts/auth/" + sanitize_path(path) + "/tune", &*body);
  if (!r) return remote_error("Error tuning auth method " + path + ": " + r.err().message);
  return print_output("Success! Tuned the auth method at: " + path);
}

int disable_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  const std::string path = mount_path(inv.args[0]);
  auto r = send(inv.client(), "DELETE", "sys/auth/" + sanitize_path(path));
  if (!r) return remote_error("Error disabling auth method at " + path + ": " + r.err().message);
  return print_output("Success! Disabled the auth method (if it existed) at: " + path);
}

}  // namespace

std::vector<command> auth_commands() {
  return {
      {"auth enable", "Enable an auth method",
       "Usage: credbroker auth enable [options] TYPE\n\n"
       "  Enables an auth method of TYPE (credbroker serves \"approle\") at -path, by default at TYPE/.\n\n"
       "      $ credbroker auth enable approle\n",
       flag_list({http_flags(), mount_enable_flags(false)}), enable_run},
      {"auth list", "List the enabled auth methods",
       "Usage: credbroker auth list [options]\n\n"
       "  Lists the enabled auth methods.\n",
       flag_list({http_flags(), output_flags(false), {{"detailed", false, "", "Show TTLs, options and UUIDs too."}}}), list_run},
      {"auth tune", "Tune an auth method's settings",
       "Usage: credbroker auth tune [options] PATH\n\n"
       "  Changes the TTL limits or the description of the auth method at PATH.\n",
       flag_list({http_flags(), mount_tune_flags()}), tune_run},
      {"auth disable", "Disable an auth method",
       "Usage: credbroker auth disable [options] PATH\n\n"
       "  Disables the auth method at PATH and revokes every token it issued.\n",
       http_flags(), disable_run},
  };
}

}  // namespace credbroker::cli
