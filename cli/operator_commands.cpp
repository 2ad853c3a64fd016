#include "cli/operator_commands.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/flags.hpp"
#include "cli/http_client.hpp"

namespace credbroker::cli {
namespace {

const flag_spec address_flag{"address", true, "ADDR", "Server address (default: $CREDBROKER_ADDR, $VAULT_ADDR, http://127.0.0.1:8200)."};
const flag_spec format_flag{"format", true, "FORMAT", "Output format: table (default) or json."};

int usage(const std::string& cmd, const std::string& msg, const std::vector<flag_spec>& specs) {
  std::fprintf(stderr, "credbroker %s: %s\n\nOptions:\n%s", cmd.c_str(), msg.c_str(), describe_flags(specs).c_str());
  return 2;
}

void print_seal_status(const nlohmann::json& s) {
  auto b = [](const nlohmann::json& v) { return v.is_boolean() ? (v.get<bool>() ? "true" : "false") : "-"; };
  std::printf("Key             Value\n---             -----\n");
  std::printf("Seal Type       %s\n", s.value("type", "shamir").c_str());
  std::printf("Initialized     %s\n", b(s.value("initialized", nlohmann::json())));
  std::printf("Sealed          %s\n", b(s.value("sealed", nlohmann::json())));
  std::printf("Total Shares    %d\n", s.value("n", 0));
  std::printf("Threshold       %d\n", s.value("t", 0));
  if (s.value("sealed", false)) {
    std::printf("Unseal Progress %d/%d\n", s.value("progress", 0), s.value("t", 0));
    std::printf("Unseal Nonce    %s\n", s.value("nonce", "").c_str());
  }
  std::printf("Version         %s\n", s.value("version", "").c_str());
  std::printf("Storage Type    %s\n", s.value("storage_type", "").c_str());
  if (s.contains("cluster_name")) std::printf("Cluster Name    %s\n", s.value("cluster_name", "").c_str());
  if (s.contains("cluster_id")) std::printf("Cluster ID      %s\n", s.value("cluster_id", "").c_str());
}

int print_status_and_exit(const nlohmann::json& s, bool json) {
  if (json) {
    std::printf("%s\n", s.dump(2).c_str());
  } else {
    print_seal_status(s);
  }
  return s.value("sealed", true) ? 2 : 0;
}

int init_command(const std::vector<std::string>& args) {
  const std::vector<flag_spec> specs = {
      address_flag, format_flag,
      {"key-shares", true, "N", "Number of unseal key shares to make (default 5)."},
      {"key-threshold", true, "N", "Number of shares needed to unseal (default 3)."},
      {"key-file", true, "PATH", "Also write the first key-threshold keys to PATH (mode 0600) for unseal_key_file."}};
  auto f = parse_flags(specs, args);
  if (!f) return usage("operator init", f.err().message, specs);
  if (f->help) return usage("operator init", "initialise a new server", specs) - 2;
  int shares = 5, threshold = 3;
  try {
    shares = std::stoi(f->value("key-shares", "5"));
    threshold = std::stoi(f->value("key-threshold", "3"));
  } catch (const std::exception&) {
    return usage("operator init", "-key-shares and -key-threshold take whole numbers", specs);
  }
  auto client = http_client::from_environment(f->value("address"));
  const nlohmann::json body = {{"secret_shares", shares}, {"secret_threshold", threshold}};
  auto r = client.call("PUT", "sys/init", &body);
  if (!r) {
    std::fprintf(stderr, "Error initializing: %s\n", r.err().message.c_str());
    return 1;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "Error initializing: %s\n", error_text(*r).c_str());
    return 2;
  }
  const auto& keys = r->body["keys"];
  if (f->has("key-file")) {
    const std::string path = f->value("key-file");
    const mode_t old = ::umask(077);
    std::ofstream out(path, std::ios::trunc);
    ::umask(old);
    for (int i = 0; i < threshold && i < static_cast<int>(keys.size()); ++i) out << keys[static_cast<std::size_t>(i)].get<std::string>() << "\n";
    out.close();
    ::chmod(path.c_str(), 0600);
    if (!out) {
      std::fprintf(stderr, "Error writing key file %s\n", path.c_str());
      return 1;
    }
  }
  if (f->value("format") == "json") {
    std::printf("%s\n", r->body.dump(2).c_str());
    return 0;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::printf("Unseal Key %zu: %s\n", i + 1, r->body["keys_base64"][i].get<std::string>().c_str());
  }
  std::printf("\nInitial Root Token: %s\n\n", r->body["root_token"].get<std::string>().c_str());
  std::printf("credbroker initialized with %d key shares and a key threshold of %d. Provide %d of these keys\n"
              "with \"credbroker operator unseal\" after every restart (or list them in unseal_key_file).\n",
              shares, threshold, threshold);
  return 0;
}

int unseal_command(const std::vector<std::string>& args) {
  const std::vector<flag_spec> specs = {address_flag, format_flag,
                                        {"reset", false, "", "Forget the shares given so far."}};
  auto f = parse_flags(specs, args);
  if (!f) return usage("operator unseal", f.err().message, specs);
  if (f->help) return usage("operator unseal", "give one unseal key (argument, or one line on stdin)", specs) - 2;
  nlohmann::json body;
  if (f->flag("reset")) {
    body = {{"reset", true}};
  } else {
    std::string key = f->positional.empty() ? "-" : f->positional.front();
    if (key == "-") {
      std::getline(std::cin, key);
      while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    }
    body = {{"key", key}};
  }
  auto client = http_client::from_environment(f->value("address"));
  auto r = client.call("PUT", "sys/unseal", &body);
  if (!r) {
    std::fprintf(stderr, "Error unsealing: %s\n", r.err().message.c_str());
    return 1;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "Error unsealing: %s\n", error_text(*r).c_str());
    return 2;
  }
  print_status_and_exit(r->body, f->value("format") == "json");
  return 0;
}

int seal_command(const std::vector<std::string>& args) {
  const std::vector<flag_spec> specs = {address_flag};
  auto f = parse_flags(specs, args);
  if (!f) return usage("operator seal", f.err().message, specs);
  if (f->help) return usage("operator seal", "seal the server (needs a root token)", specs) - 2;
  auto client = http_client::from_environment(f->value("address"));
  auto r = client.call("PUT", "sys/seal");
  if (!r) {
    std::fprintf(stderr, "Error sealing: %s\n", r.err().message.c_str());
    return 1;
  }
  if (r->status != 204 && r->status != 200) {
    std::fprintf(stderr, "Error sealing: %s\n", error_text(*r).c_str());
    return 2;
  }
  std::printf("Success! credbroker is sealed.\n");
  return 0;
}

}  // namespace

int status_command(const std::vector<std::string>& args) {
  const std::vector<flag_spec> specs = {address_flag, format_flag};
  auto f = parse_flags(specs, args);
  if (!f) return usage("status", f.err().message, specs);
  if (f->help) return usage("status", "show seal status; exit 0 unsealed, 2 sealed, 1 error", specs) - 2;
  auto client = http_client::from_environment(f->value("address"));
  auto r = client.call("GET", "sys/seal-status");
  if (!r) {
    std::fprintf(stderr, "Error checking seal status: %s\n", r.err().message.c_str());
    return 1;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "Error checking seal status: %s\n", error_text(*r).c_str());
    return 1;
  }
  return print_status_and_exit(r->body, f->value("format") == "json");
}

int operator_command(const std::vector<std::string>& args) {
  const std::string help =
      "Usage: credbroker operator <init|unseal|seal> [options]\n\n"
      "  init     Initialise a new server: make the root key, unseal key shares and a root token\n"
      "  unseal   Give one unseal key share\n"
      "  seal     Seal the server (needs a root token in CREDBROKER_TOKEN or VAULT_TOKEN)\n";
  if (args.empty()) {
    std::fputs(help.c_str(), stderr);
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "init") return init_command(rest);
  if (args[0] == "unseal") return unseal_command(rest);
  if (args[0] == "seal") return seal_command(rest);
  if (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "credbroker operator: unknown subcommand \"%s\"\n\n%s", args[0].c_str(), help.c_str());
  return 2;
}

}  // namespace credbroker::cli
