// token create | lookup | renew | revoke | capabilities (vault CLI's command/token_*.go):
//   create                   POST auth/token/create (or create/ROLE with -role) with Vault's
//                            TokenCreateRequest fields: id, policies, meta, no_parent,
//                            no_default_policy, ttl, explicit_max_ttl, period, display_name,
//                            num_uses, renewable, type
//   lookup [TOKEN]           GET auth/token/lookup-self, or POST auth/token/lookup {"token"},
//                            or with -accessor POST auth/token/lookup-accessor {"accessor"}
//   renew [TOKEN]            PUT auth/token/renew-self | renew | renew-accessor (+ "increment")
//   revoke [TOKEN]           PUT auth/token/revoke {"token"}; -self revoke-self; -accessor
//                            revoke-accessor; -mode=orphan revoke-orphan; -mode=path
//                            sys/leases/revoke-prefix/TOKEN (every token of a login path)
//   capabilities [TOKEN] PATH  POST sys/capabilities-self {"paths"} or sys/capabilities
//                            {"token","paths"} (-accessor: sys/capabilities-accessor); prints
//                            "read, update" (sorted) in table format
#include <algorithm>

#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

result<json> create_body(const invocation& inv) {
  json body = json::object();
  const auto& f = inv.flags;
  if (f.has("id")) body["id"] = f.value("id");
  if (!f.all("policy").empty()) body["policies"] = f.all("policy");
  if (!f.all("metadata").empty()) {
    json meta = json::object();
    for (const auto& kv : f.all("metadata")) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) return make_error(errc::invalid_request, "invalid value \"" + kv + "\" for flag -metadata: missing =");
      meta[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    body["meta"] = meta;
  }
  for (const char* d : {"ttl", "explicit-max-ttl", "period"}) {
    auto v = duration_flag(inv, d);
    if (!v) return std::move(v).err();
    std::string key = d;
    std::replace(key.begin(), key.end(), '-', '_');
    if (v->count() > 0) body[key] = v->count();
  }
  if (f.flag("orphan")) body["no_parent"] = true;
  if (f.flag("no-default-policy")) body["no_default_policy"] = true;
  if (f.has("display-name")) body["display_name"] = f.value("display-name");
  if (f.has("use-limit")) {
    try {
      body["num_uses"] = std::stoi(f.value("use-limit"));
    } catch (const std::exception&) {
      return make_error(errc::invalid_request, "invalid value \"" + f.value("use-limit") + "\" for flag -use-limit: expected a number");
    }
  }
  const std::string type = f.value("type", "service");
  body["type"] = type;
  body["renewable"] = type != "batch" && f.value("renewable", "true") == "true";
  return body;
}

int create_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto body = create_body(inv);
  if (!body) return local_error(body.err().message);
  const std::string role = inv.flags.value("role");
  auto r = send(inv.client(), "POST", role.empty() ? "auth/token/create" : "auth/token/create/" + role, &*body);
  if (!r) return remote_error("Error creating token: " + r.err().message);
  return *r ? print_secret(inv, **r) : exit_code::ok;
}

int lookup_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, inv.flags.flag("accessor") ? 1 : 0, 1)) return *bad;
  result<std::optional<json>> r = std::optional<json>();
  if (inv.args.empty()) {
    r = send(inv.client(), "GET", "auth/token/lookup-self");
  } else if (inv.flags.flag("accessor")) {
    const json body = {{"accessor", inv.args[0]}};
    r = send(inv.client(), "POST", "auth/token/lookup-accessor", &body);
  } else {
    const json body = {{"token", inv.args[0]}};
    r = send(inv.client(), "POST", "auth/token/lookup", &body);
  }
  if (!r) return remote_error("Error looking up token: " + r.err().message);
  return *r ? print_secret(inv, **r) : exit_code::ok;
}

int renew_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, inv.flags.flag("accessor") ? 1 : 0, 1)) return *bad;
  auto increment = duration_flag(inv, "increment");
  if (!increment) return local_error(increment.err().message);
  json body = {{"increment", increment->count()}};
  std::string path = "auth/token/renew-self";
  if (!inv.args.empty()) {
    const bool by_accessor = inv.flags.flag("accessor");
    body[by_accessor ? "accessor" : "token"] = inv.args[0];
    path = by_accessor ? "auth/token/renew-accessor" : "auth/token/renew";
  }
  auto r = send(inv.client(), "PUT", path, &body);
  if (!r) return remote_error("Error renewing token: " + r.err().message);
  return *r ? print_secret(inv, **r) : exit_code::ok;
}

std::optional<int> revoke_usage_error(const invocation& inv) {
  const bool self = inv.flags.flag("self"), accessor = inv.flags.flag("accessor");
  const std::string mode = inv.flags.value("mode");
  if (self && !inv.args.empty()) return local_error("Tokens cannot be specified with -self");
  if (!self && inv.args.empty()) return local_error("Not enough arguments (expected 1 or -self)");
  if (inv.args.size() > 1) return local_error("Too many arguments (expected 1, got " + std::to_string(inv.args.size()) + ")");
  if (self && accessor) return local_error("Cannot use -self with -accessor");
  if (self && !mode.empty()) return local_error("Cannot use -self with -mode");
  if (accessor && !mode.empty()) return local_error("Cannot use -accessor with -mode=" + mode);
  if (!mode.empty() && mode != "orphan" && mode != "path") return local_error("Invalid mode: " + mode);
  return std::nullopt;
}

int revoke_run(const invocation& inv) {
  if (auto bad = revoke_usage_error(inv)) return *bad;
  const std::string mode = inv.flags.value("mode");
  json body = json::object();
  std::string path;
  if (inv.flags.flag("self")) {
    path = "auth/token/revoke-self";
  } else if (inv.flags.flag("accessor")) {
    path = "auth/token/revoke-accessor", body["accessor"] = inv.args[0];
  } else if (mode == "orphan") {
    path = "auth/token/revoke-orphan", body["token"] = inv.args[0];
  } else if (mode == "path") {
    path = "sys/leases/revoke-prefix/" + sanitize_path(inv.args[0]);
  } else {
    path = "auth/token/revoke", body["token"] = inv.args[0];
  }
  auto r = send(inv.client(), "PUT", path, &body);
  if (!r) return remote_error("Error revoking token: " + r.err().message);
  return print_output("Success! Revoked token (if it existed)");
}

json capabilities_of(const json& reply) {
  if (reply.contains("data") && reply["data"].is_object() && reply["data"].contains("capabilities")) {
    return reply["data"]["capabilities"];
  }
  return reply.value("capabilities", json::array());
}

int capabilities_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, inv.flags.flag("accessor") ? 2 : 1, 2)) return *bad;
  json body = {{"paths", json::array({sanitize_path(inv.args.back())})}};
  std::string path = "sys/capabilities-self";
  if (inv.args.size() == 2) {
    const bool by_accessor = inv.flags.flag("accessor");
    body[by_accessor ? "accessor" : "token"] = inv.args[0];
    path = by_accessor ? "sys/capabilities-accessor" : "sys/capabilities";
  }
  auto r = send(inv.client(), "POST", path, &body);
  if (!r) return remote_error("Error listing capabilities: " + r.err().message);
  json caps = *r ? capabilities_of(**r) : json::array();
  if (inv.format != output_format::table) return print_output(format_data(caps, inv.format));
  std::vector<std::string> names;
  for (const auto& c : caps) names.push_back(value_text(c));
  std::sort(names.begin(), names.end());
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return print_output(text);
}

flag_spec accessor_flag(const std::string& what) {
  return {"accessor", false, "", "Treat the argument as " + what + " accessor, not a token."};
}

}  // namespace

std::vector<command> token_commands() {
  const auto common = flag_list({http_flags(), output_flags(true)});
  const std::vector<flag_spec> create_flags = {
      {"id", true, "ID", "The token's value (root tokens only); default: random."},
      {"display-name", true, "NAME", "A name shown in the token's lookup and in usernames made with it."},
      {"ttl", true, "DURATION", "Initial TTL (e.g. 1h); renewals extend it up to the max TTL."},
      {"explicit-max-ttl", true, "DURATION", "A hard limit the token can never be renewed past."},
      {"period", true, "DURATION", "Make a periodic token: each renewal resets the TTL to this."},
      {"renewable", false, "", "Allow renewals (default true; -renewable=false to forbid)."},
      {"orphan", false, "", "No parent: the token outlives the token that created it."},
      {"no-default-policy", false, "", "Do not attach the \"default\" policy."},
      {"use-limit", true, "N", "Revoke the token after N uses (default 0: unlimited)."},
      {"role", true, "NAME", "Create the token against a token role (auth/token/create/NAME)."},
      {"type", true, "TYPE", "service (default) or batch."},
      {"metadata", true, "K=V", "Metadata for the token (repeatable).", {}, true},
      {"policy", true, "NAME", "A policy for the token (repeatable, or a comma list).", {}, true, true}};
  return {
      {"token create", "Create a new token",
       "Usage: credbroker token create [options]\n\n"
       "  Creates a token, a child of the current one unless -orphan. It has the current token's\n"
       "  policies, or the -policy ones (which must be a subset unless the current token is root).\n\n"
       "      $ credbroker token create -policy=dba -ttl=8h -display-name=alice\n"
       "      $ credbroker token create -policy=app -field=token\n",
       flag_list({common, create_flags}), create_run},
      {"token lookup", "Show a token's properties",
       "Usage: credbroker token lookup [options] [TOKEN | ACCESSOR]\n\n"
       "  Shows a token's policies, TTL, metadata. Without an argument, the current token.\n\n"
       "      $ credbroker token lookup\n"
       "      $ credbroker token lookup -accessor 9XqoeBfxl3FbgL6mRY5Flv8x\n",
       flag_list({common, {accessor_flag("an")}}), lookup_run},
      {"token renew", "Renew a token",
       "Usage: credbroker token renew [options] [TOKEN]\n\n"
       "  Extends a token's TTL. Without an argument, the current token.\n\n"
       "      $ credbroker token renew -increment=1h\n",
       flag_list({common,
                  {accessor_flag("an"), {"increment", true, "DURATION", "Ask for this TTL from now (e.g. 1h); the server may grant less."}}}),
       renew_run},
      {"token revoke", "Revoke a token and its children",
       "Usage: credbroker token revoke [options] [TOKEN | ACCESSOR]\n\n"
       "  Revokes a token, its child tokens and their leases.\n\n"
       "      $ credbroker token revoke s.AbC...\n"
       "      $ credbroker token revoke -self\n"
       "      $ credbroker token revoke -mode=orphan s.AbC...   # children stay, orphaned\n",
       flag_list({http_flags(),
                  {accessor_flag("an"), {"self", false, "", "Revoke the current token."},
                   {"mode", true, "MODE", "orphan: revoke only this token; path: every token created under the login path TOKEN."}}}),
       revoke_run},
      {"token capabilities", "Show a token's capabilities on a path",
       "Usage: credbroker token capabilities [options] [TOKEN] PATH\n\n"
       "  Prints what a token may do on PATH (e.g. \"read, update\"). Without TOKEN, the current one.\n\n"
       "      $ credbroker token capabilities database/creds/app\n",
       flag_list({http_flags(), output_flags(false), {accessor_flag("an")}}), capabilities_run},
  };
}

}  // namespace credbroker::cli
