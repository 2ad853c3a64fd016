// login (vault CLI's command/login.go): authenticate and keep the token in the token helper file
// (~/.vault-token, cli/token_helper.hpp), which later commands read when CREDBROKER_TOKEN and
// VAULT_TOKEN are unset.
//
//   login [TOKEN | -]                       -method=token (default): the token from the argument,
//                                           "-" (one line of stdin), or a prompt with echo off
//                                           (stdin a terminal) / one line of stdin; checked with
//                                           GET auth/token/lookup-self before it is stored
//   login -method=approle role_id=.. secret_id=..   PUT auth/<-path, default approle>/login
//
// The token is not printed once it is stored: the table leaves out the token row and json/yaml
// leave out auth.client_token (it is in ~/.vault-token; -field=token prints it on request). With
// -no-store it is printed, since it is kept nowhere else; -token-only prints just the token and
// does not store it, for scripts. -no-print prints nothing.
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/kv_args.hpp"
#include "cli/token_helper.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// One line of stdin; with a terminal, after a prompt and with echo turned off.
std::string read_hidden_line() {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::fputs("Token (will be hidden): ", stderr);
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputs("\n", stderr);
  }
  return trim(line);
}

// lookup-self's data as the auth block of a login reply.
json auth_from_lookup(const std::string& token, const json& lookup) {
  const json d = lookup.value("data", json::object());
  const json policies = d.value("policies", json::array());
  return {{"auth",
           {{"client_token", token},
            {"accessor", d.value("accessor", "")},
            {"policies", policies},
            {"token_policies", policies},
            {"identity_policies", json::array()},
            {"metadata", d.value("meta", json())},
            {"lease_duration", d.value("ttl", json(0))},
            {"renewable", d.value("renewable", false)}}},
          {"data", nullptr}};
}

result<json> token_login(const invocation& inv) {
  if (inv.args.size() > 1) return make_error(errc::invalid_request, "Too many arguments (expected 0-1, got " + std::to_string(inv.args.size()) + ")");
  std::string token = inv.args.empty() || inv.args[0] == "-" ? read_hidden_line() : trim(inv.args[0]);
  if (token.empty()) return make_error(errc::invalid_request, "Error authenticating: no token given");
  auto r = send(inv.client().with_token(secret(token)), "GET", "auth/token/lookup-self");
  if (!r) return make_error(errc::unavailable, "Error authenticating: error looking up token: " + r.err().message);
  if (!*r) return make_error(errc::unavailable, "Error authenticating: empty response from lookup-self");
  return auth_from_lookup(token, **r);
}

result<json> approle_login(const invocation& inv) {
  auto data = parse_kv_args(inv.args, std::cin);
  if (!data) return make_error(errc::invalid_request, "Error parsing configuration: " + data.err().message);
  if (!data->is_object() || !data->contains("role_id")) return make_error(errc::invalid_request, "Error authenticating: role_id is required");
  const std::string path = sanitize_path(inv.flags.value("path", "approle"));
  auto r = send(inv.client().with_token(secret()), "PUT", "auth/" + path + "/login", &*data);
  if (!r) return make_error(errc::unavailable, "Error authenticating: " + r.err().message);
  if (!*r || !(**r).contains("auth") || !(**r)["auth"].is_object()) return make_error(errc::unavailable, "Error authenticating: no auth information returned");
  return **r;
}

void warn_token_environment() {
  for (const char* name : {"CREDBROKER_TOKEN", "VAULT_TOKEN"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') {
      std::fprintf(stderr,
                   "WARNING! The %s environment variable is set! Its value takes precedence over the stored token;\n"
                   "unset %s if that is not what you want.\n\n",
                   name, name);
    }
  }
}

// The reply as printed: without the token when it was stored.
json printable(json secret, bool stored) {
  if (stored) secret["auth"].erase("client_token");
  return secret;
}

int print_login(const invocation& inv, const json& secret, bool stored) {
  if (!inv.field().empty()) return print_secret(inv, secret);
  if (inv.format != output_format::table) return print_secret(inv, printable(secret, stored));
  std::printf("Success! You are now authenticated. %s\n\n",
              stored ? "The token is stored in the token helper (~/.vault-token):\nlater commands use it; you "
                       "do NOT need to run \"credbroker login\" again."
                     : "The token was not stored (-no-store): keep it yourself.");
  std::string table = secret_table(secret);
  if (stored) {
    std::string kept;
    std::size_t pos = 0;
    while (pos < table.size()) {
      const auto end = table.find('\n', pos);
      const std::string line = table.substr(pos, end == std::string::npos ? std::string::npos : end - pos + 1);
      if (line.rfind("token ", 0) != 0) kept += line;
      pos = end == std::string::npos ? table.size() : end + 1;
    }
    table = kept;
  }
  while (!table.empty() && table.back() == '\n') table.pop_back();
  return print_output(table);
}

int login_run(const invocation& inv) {
  const std::string method = inv.flags.value("method", "token");
  result<json> reply = make_error(errc::invalid_request, "");
  if (method == "token") reply = token_login(inv);
  else if (method == "approle") reply = approle_login(inv);
  else {
    return local_error("Unknown auth method: " + method +
                       ". Use \"credbroker auth list\" to see the enabled auth methods; credbroker logs in with token and approle.");
  }
  if (!reply) {
    return reply.err().code == make_error_code(errc::unavailable) ? remote_error(reply.err().message)
                                                                  : local_error(reply.err().message);
  }
  const std::string token = (*reply)["auth"].value("client_token", "");
  if (inv.flags.flag("token-only")) return print_raw(token);
  const bool store = !inv.flags.flag("no-store");
  if (store) {
    if (auto s = store_token(credbroker::secret(token)); !s) return remote_error("Error storing token: " + s.err().message);
  }
  warn_token_environment();
  if (inv.flags.flag("no-print")) return exit_code::ok;
  return print_login(inv, *reply, store);
}

}  // namespace

std::vector<command> login_commands() {
  return {
      {"login", "Authenticate and keep the token for later commands",
       "Usage: credbroker login [options] [TOKEN | -]\n"
       "       credbroker login -method=approle [options] role_id=ID secret_id=SECRET\n\n"
       "  Authenticates and stores the token in ~/.vault-token (mode 0600), where later credbroker\n"
       "  commands (and the vault CLI) find it when CREDBROKER_TOKEN and VAULT_TOKEN are unset. The\n"
       "  stored token is not printed. Without TOKEN, it is read from a prompt (echo off) or stdin.\n\n"
       "      $ credbroker login                                  # prompts for the token\n"
       "      $ credbroker login -method=approle role_id=$ROLE_ID secret_id=@secret-id.txt\n"
       "      $ TOKEN=$(credbroker login -token-only -method=approle role_id=... secret_id=...)\n",
       flag_list({http_flags(), output_flags(true),
                  {{"method", true, "METHOD", "token (default) or approle."},
                   {"path", true, "PATH", "Mount path of the auth method (default: the method's name)."},
                   {"no-store", false, "", "Do not store the token; print it instead."},
                   {"no-print", false, "", "Print nothing (the token is still stored)."},
                   {"token-only", false, "", "Print only the token, and do not store it."}}}),
       login_run},
  };
}

}  // namespace credbroker::cli
