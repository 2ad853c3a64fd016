// lease renew | revoke | lookup (vault CLI's command/lease_*.go) on sys/leases/*:
//   renew ID [-increment=DUR]   PUT sys/leases/renew {"lease_id", "increment": seconds}
//   revoke ID                   PUT sys/leases/revoke/ID {"sync": false}  (queued)
//   revoke -prefix PREFIX       PUT sys/leases/revoke-prefix/PREFIX {"sync": ...}
//   revoke -force -prefix P     PUT sys/leases/revoke-force/P (drops the records even when the
//                               database refuses; -force without -prefix is a local error)
//   lookup ID                   PUT sys/leases/lookup {"lease_id"}
#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::optional<int> missing_id(const invocation& inv) {
  if (inv.args.empty()) return local_error("Missing ID!");
  if (inv.args.size() > 1) return local_error("Too many arguments (expected 1, got " + std::to_string(inv.args.size()) + ")");
  return std::nullopt;
}

int renew_run(const invocation& inv) {
  if (auto bad = missing_id(inv)) return *bad;
  auto increment = duration_flag(inv, "increment");
  if (!increment) return local_error(increment.err().message);
  const std::string id = trim(inv.args[0]);
  const json body = {{"increment", increment->count()}, {"lease_id", id}};
  auto r = send(inv.client(), "PUT", "sys/leases/renew", &body);
  if (!r) return remote_error("Error renewing " + id + ": " + r.err().message);
  return *r ? print_secret(inv, **r) : exit_code::ok;
}

struct revoke_mode {
  std::string path;
  std::string failure;  // "Error revoking lease X" ...
  std::string success;
};

revoke_mode revoke_mode_of(const invocation& inv, const std::string& id) {
  const bool sync = inv.flags.flag("sync");
  if (inv.flags.flag("force")) {
    return {"sys/leases/revoke-force/" + id, "Error force revoking leases with prefix " + id,
            "Success! Force revoked any leases with prefix: " + id};
  }
  if (inv.flags.flag("prefix")) {
    return {"sys/leases/revoke-prefix/" + id, "Error revoking leases with prefix " + id,
            sync ? "Success! Revoked any leases with prefix: " + id : "All revocation operations queued successfully!"};
  }
  return {"sys/leases/revoke/" + id, "Error revoking lease " + id,
          sync ? "Success! Revoked lease: " + id : "All revocation operations queued successfully!"};
}

int revoke_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 1, 1)) return *bad;
  if (inv.flags.flag("force") && !inv.flags.flag("prefix")) return local_error("Specifying -force requires also specifying -prefix");
  const std::string id = trim(inv.args[0]);
  const revoke_mode mode = revoke_mode_of(inv, id);
  if (inv.flags.flag("force")) {
    std::fputs("Warning! Force-removing leases can cause credbroker to become out of sync with the databases!\n", stderr);
  }
  const json body = {{"sync", inv.flags.flag("sync")}};
  auto r = send(inv.client(), "PUT", mode.path, inv.flags.flag("force") ? nullptr : &body);
  if (!r) return remote_error(mode.failure + ": " + r.err().message);
  return print_output(mode.success);
}

int lookup_run(const invocation& inv) {
  if (auto bad = missing_id(inv)) return *bad;
  const std::string id = trim(inv.args[0]);
  const json body = {{"lease_id", id}};
  auto r = send(inv.client(), "PUT", "sys/leases/lookup", &body);
  if (!r) return remote_error("error looking up lease id " + id + ": " + r.err().message);
  return *r ? print_secret(inv, **r) : exit_code::ok;
}

}  // namespace

std::vector<command> lease_commands() {
  return {
      {"lease renew", "Renew the lease of a credential",
       "Usage: credbroker lease renew [options] ID\n\n"
       "  Renews the lease ID (the full lease id: database/creds/app/AbC...), extending the time the\n"
       "  credential can be used, up to the role's max_ttl.\n\n"
       "      $ credbroker lease renew -increment=1h database/creds/app/AbC123\n",
       flag_list({http_flags(), output_flags(true),
                  {{"increment", true, "DURATION", "Ask for this much more time (e.g. 30m, 3600); the server may grant less."}}}),
       renew_run},
      {"lease revoke", "Revoke leases and their credentials",
       "Usage: credbroker lease revoke [options] ID\n\n"
       "  Revokes a lease, and drops its database user or ACL user. With -prefix, every lease under the\n"
       "  prefix. Without -sync the revocation is queued and retried until it succeeds.\n\n"
       "      $ credbroker lease revoke database/creds/app/AbC123\n"
       "      $ credbroker lease revoke -prefix database/creds/app\n"
       "      $ credbroker lease revoke -force -prefix database/creds/app   # users already dropped by hand\n",
       flag_list({http_flags(),
                  {{"force", false, "", "Drop the leases even when revoking in the database fails (needs -prefix; alias -f).", {"f"}},
                   {"prefix", false, "", "Treat ID as a prefix: revoke every lease under it."},
                   {"sync", false, "", "Revoke now and report a failure, instead of queueing."}}}),
       revoke_run},
      {"lease lookup", "Show a lease",
       "Usage: credbroker lease lookup [options] ID\n\n"
       "  Shows the lease ID: issue and expiry time, TTL, whether it can be renewed.\n\n"
       "      $ credbroker lease lookup database/creds/app/AbC123\n",
       flag_list({http_flags(), output_flags(true)}), lookup_run},
  };
}

}  // namespace credbroker::cli
