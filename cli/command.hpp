#pragma once
// The frame every client command runs in, as the vault CLI's commands behave:
//
//   exit codes  0 success; 1 a local error (bad flags or arguments, an unreadable @file, a field
//               not present, a bad -format); 2 a remote error (the server refused, or could not be
//               reached) -- the message, with the server's error text, goes to stderr
//   -h, -help   the command's usage and flags on stdout, exit 0
//   flags       Go-style (flags.hpp); flags after the first argument are not flags (a warning
//               names them); the HTTP flags -address, -ca-cert, -tls-skip-verify and the output
//               flags -format (default $VAULT_FORMAT, else table) and -field are shared
//
// A command is a `command` record: its path ("lease renew"), the one-line synopsis its group's
// help lists, the usage text, its flags, and run(). run_command() parses, answers -h, validates
// -format and calls run() with an `invocation`.
//
// Thread: the CLI is one thread.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "cli/http_client.hpp"
#include "cli/output.hpp"

namespace credbroker::cli {

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int local_error = 1;
inline constexpr int remote_error = 2;
}  // namespace exit_code

struct invocation {
  parsed_flags flags;
  std::vector<std::string> args;  // the positional arguments
  output_format format = output_format::table;

  http_client client() const;
  std::string field() const { return flags.value("field"); }
};

struct command {
  std::string path;      // "read", "lease renew"
  std::string synopsis;  // one line, for the group's help
  std::string usage;     // "Usage: credbroker read [options] PATH [K=V...]\n\n  What it does ..."
  std::vector<flag_spec> flags;
  std::function<int(const invocation&)> run;
};

// Flag groups: -address -ca-cert -tls-skip-verify; -format [and -field].
std::vector<flag_spec> http_flags();
std::vector<flag_spec> output_flags(bool with_field);
std::vector<flag_spec> flag_list(std::initializer_list<std::vector<flag_spec>> groups);

int run_command(const command& c, const std::vector<std::string>& args);
// The -h text: usage, then the flags.
std::string help_text(const command& c);

// Messages: print to stderr and return the exit code.
int local_error(const std::string& message);
int remote_error(const std::string& message);
// "Not enough arguments (expected 1, got 0)" / "Too many arguments (expected 1, got 3)"; nullopt
// when args.size() is within [min, max].
std::optional<int> check_arg_count(const invocation& inv, std::size_t min, std::size_t max);

// One request. A transport failure or a status >= 400 is an error whose message is the vault
// client's text; a 204, an empty body, or (with not_found_is_empty) a 404 without data or
// warnings is nullopt; otherwise the reply body.
result<std::optional<nlohmann::json>> send(const http_client& client, const std::string& method, const std::string& path,
                                           const nlohmann::json* body = nullptr, bool not_found_is_empty = false);

// Prints a secret as the vault CLI's OutputSecret / PrintRawField do: -field first (exit 1 when
// absent), else warnings on stderr (table format) and the secret in the invocation's format.
int print_secret(const invocation& inv, const nlohmann::json& secret);
// Prints formatted text and a newline (nothing for "").
int print_output(const std::string& text);
// A -field value: no trailing newline when stdout is not a terminal (a script's $(...) gets the
// bare value), as the vault CLI's PrintRaw.
int print_raw(const std::string& text);

// Path helpers as the vault CLI's: trimmed, no leading/trailing "/"; mount paths end in "/".
std::string sanitize_path(const std::string& p);
std::string mount_path(const std::string& p);

// Duration flags: a Go duration or whole seconds ("90s", "1h", "3600"); error names the flag.
result<std::chrono::seconds> duration_flag(const invocation& inv, const std::string& name);

}  // namespace credbroker::cli
