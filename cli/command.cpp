#include "cli/command.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "broker/core/duration.hpp"

namespace credbroker::cli {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

bool has_flag(const command& c, const std::string& name) {
  for (const auto& f : c.flags) {
    if (f.name == name) return true;
  }
  return false;
}

result<output_format> format_of(const command& c, const parsed_flags& f) {
  if (!has_flag(c, "format")) return output_format::table;
  std::string name = f.value("format");
  if (name.empty()) {
    const char* env = std::getenv("VAULT_FORMAT");
    name = env != nullptr && *env != '\0' ? env : "table";
  }
  return parse_output_format(name);
}

void warn_flags_after_arguments(const command& c, const std::vector<std::string>& positional) {
  const auto late = flags_after_arguments(c.flags, positional);
  if (late.empty()) return;
  std::string list;
  for (const auto& a : late) list += (list.empty() ? "" : " ") + a;
  std::fprintf(stderr,
               "Command flags must be provided before positional arguments. The following arguments will not be "
               "parsed as flags: [%s]\n",
               list.c_str());
}

bool empty_secret(const nlohmann::json& body) {
  auto has = [&](const char* k) {
    return body.is_object() && body.contains(k) && !body[k].is_null() && !body[k].empty();
  };
  return !has("data") && !has("warnings");
}

}  // namespace

http_client invocation::client() const {
  std::optional<bool> skip;
  if (flags.has("tls-skip-verify")) skip = flags.flag("tls-skip-verify");
  return http_client::from_environment(flags.value("address"), flags.value("ca-cert"), skip);
}

std::vector<flag_spec> http_flags() {
  return {{"address", true, "ADDR", "Address of the server (default: $CREDBROKER_ADDR, $VAULT_ADDR, http://127.0.0.1:8200)."},
          {"ca-cert", true, "FILE", "PEM file of the CA that signed the server's certificate (default: $VAULT_CACERT)."},
          {"tls-skip-verify", false, "", "Do not verify the server's TLS certificate (default: $VAULT_SKIP_VERIFY). Insecure."}};
}

std::vector<flag_spec> output_flags(bool with_field) {
  std::vector<flag_spec> out = {{"format", true, "FORMAT", "Output format: table, json or yaml (default: $VAULT_FORMAT, else table)."}};
  if (with_field) {
    out.push_back({"field", true, "NAME", "Print only this field, without a trailing newline when piped."});
  }
  return out;
}

std::vector<flag_spec> flag_list(std::initializer_list<std::vector<flag_spec>> groups) {
  std::vector<flag_spec> out;
  for (const auto& g : groups) out.insert(out.end(), g.begin(), g.end());
  return out;
}

std::string help_text(const command& c) {
  std::string out = c.usage;
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (!c.flags.empty()) out += "\nOptions:\n" + describe_flags(c.flags);
  return out;
}

int local_error(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return exit_code::local_error;
}

int remote_error(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return exit_code::remote_error;
}

std::optional<int> check_arg_count(const invocation& inv, std::size_t min, std::size_t max) {
  const std::size_t n = inv.args.size();
  const std::string expected = min == max ? std::to_string(min) : std::to_string(min) + "-" + std::to_string(max);
  if (n < min) return local_error("Not enough arguments (expected " + expected + ", got " + std::to_string(n) + ")");
  if (n > max) return local_error("Too many arguments (expected " + expected + ", got " + std::to_string(n) + ")");
  return std::nullopt;
}

int run_command(const command& c, const std::vector<std::string>& args) {
  auto parsed = parse_flags(c.flags, args);
  if (!parsed) {
    std::fprintf(stderr, "%s\n\n%s", parsed.err().message.c_str(), help_text(c).c_str());
    return exit_code::local_error;
  }
  if (parsed->help) {
    std::fputs(help_text(c).c_str(), stdout);
    return exit_code::ok;
  }
  auto format = format_of(c, *parsed);
  if (!format) return local_error(format.err().message);
  warn_flags_after_arguments(c, parsed->positional);
  invocation inv;
  inv.args = parsed->positional;
  inv.flags = std::move(*parsed);
  inv.format = *format;
  return c.run(inv);
}

result<std::optional<nlohmann::json>> send(const http_client& client, const std::string& method, const std::string& path,
                                           const nlohmann::json* body, bool not_found_is_empty) {
  auto r = client.call(method, path, body);
  if (!r) return std::move(r).err();
  if (r->status == 404 && not_found_is_empty && empty_secret(r->body)) return std::optional<nlohmann::json>();
  if (r->status >= 400) return make_error(errc::invalid_request, api_error_text(client.describe(method, path), *r));
  if (r->status == 204 || r->body.is_null()) return std::optional<nlohmann::json>();
  return std::optional<nlohmann::json>(r->body);
}

int print_output(const std::string& text) {
  if (!text.empty()) std::printf("%s\n", text.c_str());
  return exit_code::ok;
}

int print_raw(const std::string& text) {
  if (::isatty(STDOUT_FILENO) != 0) std::printf("%s\n", text.c_str());
  else std::fwrite(text.data(), 1, text.size(), stdout);
  return exit_code::ok;
}

int print_secret(const invocation& inv, const nlohmann::json& secret) {
  if (!inv.field().empty()) {
    auto v = raw_field(secret, inv.field());
    if (!v) return local_error("Field \"" + inv.field() + "\" not present in secret");
    return print_raw(format_field(*v, inv.format));
  }
  if (inv.format == output_format::table) std::fputs(warnings_text(secret).c_str(), stderr);
  std::string text = format_secret(secret, inv.format);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return print_output(text);
}

std::string sanitize_path(const std::string& p) {
  std::string s = trim(p);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string mount_path(const std::string& p) {
  std::string s = sanitize_path(p);
  return s.empty() ? s : s + "/";
}

result<std::chrono::seconds> duration_flag(const invocation& inv, const std::string& name) {
  const std::string text = inv.flags.value(name);
  if (text.empty()) return std::chrono::seconds(0);
  auto d = parse_duration_seconds(text);
  if (!d) return make_error(errc::invalid_request, "invalid value \"" + text + "\" for flag -" + name + ": " + d.err().message);
  return d;
}

}  // namespace credbroker::cli
