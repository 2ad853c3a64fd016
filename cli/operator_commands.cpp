// status and operator init | unseal | seal: the seal lifecycle (Vault CLI compatible output).
//   status                 GET sys/seal-status; exit 0 unsealed, 2 sealed, 1 error
//   operator init [...]    PUT sys/init; prints unseal keys and the root token
//   operator unseal [KEY|-] PUT sys/unseal; KEY from the argument or one line of stdin
//   operator seal          PUT sys/seal (root token)
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

void print_seal_status(const json& s) {
  auto b = [](const json& v) { return v.is_boolean() ? (v.get<bool>() ? "true" : "false") : "-"; };
  std::printf("Key             Value\n---             -----\n");
  std::printf("Seal Type       %s\n", s.value("type", "shamir").c_str());
  std::printf("Initialized     %s\n", b(s.value("initialized", json())));
  std::printf("Sealed          %s\n", b(s.value("sealed", json())));
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

// The seal status in the invocation's format; returns 2 when sealed, as Vault's status does.
int print_status(const invocation& inv, const json& s) {
  if (inv.format == output_format::table) print_seal_status(s);
  else print_output(format_data(s, inv.format));
  return s.value("sealed", true) ? exit_code::remote_error : exit_code::ok;
}

int status_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "GET", "sys/seal-status");
  if (!r || !*r) return local_error("Error checking seal status: " + (r ? std::string("empty reply") : r.err().message));
  return print_status(inv, **r);
}

status write_key_file(const std::string& path, const json& keys, int threshold) {
  const mode_t old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  for (int i = 0; i < threshold && i < static_cast<int>(keys.size()); ++i) out << keys[static_cast<std::size_t>(i)].get<std::string>() << "\n";
  out.close();
  ::chmod(path.c_str(), 0600);
  if (!out) return make_error(errc::internal, "Error writing key file " + path);
  return ok_v;
}

int init_run(const invocation& inv) {
  int shares = 5, threshold = 3;
  try {
    shares = std::stoi(inv.flags.value("key-shares", "5"));
    threshold = std::stoi(inv.flags.value("key-threshold", "3"));
  } catch (const std::exception&) {
    return local_error("-key-shares and -key-threshold take whole numbers");
  }
  const json body = {{"secret_shares", shares}, {"secret_threshold", threshold}};
  auto r = send(inv.client(), "PUT", "sys/init", &body);
  if (!r || !*r) return remote_error("Error initializing: " + (r ? std::string("empty reply") : r.err().message));
  const json& reply = **r;
  if (inv.flags.has("key-file")) {
    if (auto s = write_key_file(inv.flags.value("key-file"), reply["keys"], threshold); !s) return local_error(s.err().message);
  }
  if (inv.format != output_format::table) return print_output(format_data(reply, inv.format));
  for (std::size_t i = 0; i < reply["keys"].size(); ++i) {
    std::printf("Unseal Key %zu: %s\n", i + 1, reply["keys_base64"][i].get<std::string>().c_str());
  }
  std::printf("\nInitial Root Token: %s\n\n", reply["root_token"].get<std::string>().c_str());
  std::printf("credbroker initialized with %d key shares and a key threshold of %d. Provide %d of these keys\n"
              "with \"credbroker operator unseal\" after every restart (or list them in unseal_key_file).\n",
              shares, threshold, threshold);
  return exit_code::ok;
}

int unseal_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 1)) return *bad;
  json body;
  if (inv.flags.flag("reset")) {
    body = {{"reset", true}};
  } else {
    std::string key = inv.args.empty() ? "-" : inv.args.front();
    if (key == "-") {
      std::getline(std::cin, key);
      while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    }
    body = {{"key", key}};
  }
  auto r = send(inv.client(), "PUT", "sys/unseal", &body);
  if (!r || !*r) return remote_error("Error unsealing: " + (r ? std::string("empty reply") : r.err().message));
  print_status(inv, **r);
  return exit_code::ok;
}

int seal_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 0)) return *bad;
  auto r = send(inv.client(), "PUT", "sys/seal");
  if (!r) return remote_error("Error sealing: " + r.err().message);
  return print_output("Success! credbroker is sealed.");
}

}  // namespace

std::vector<command> operator_commands() {
  const auto status_flags = flag_list({http_flags(), output_flags(false)});
  return {
      {"status", "Show whether the server is initialised and sealed",
       "Usage: credbroker status [options]\n\n"
       "  Shows the seal status. Exit code 0: unsealed, 2: sealed, 1: error.\n",
       status_flags, status_run},
      {"operator init", "Initialise a new server",
       "Usage: credbroker operator init [options]\n\n"
       "  Makes the root key, splits it into unseal key shares and creates the initial root token.\n",
       flag_list({status_flags,
                  {{"key-shares", true, "N", "Number of unseal key shares to make (default 5)."},
                   {"key-threshold", true, "N", "Number of shares needed to unseal (default 3)."},
                   {"key-file", true, "PATH", "Also write the first key-threshold keys to PATH (mode 0600) for unseal_key_file."}}}),
       init_run},
      {"operator unseal", "Give one unseal key share",
       "Usage: credbroker operator unseal [options] [KEY | -]\n\n"
       "  Gives one unseal key (the argument, or one line of stdin).\n",
       flag_list({status_flags, {{"reset", false, "", "Forget the shares given so far."}}}), unseal_run},
      {"operator seal", "Seal the server",
       "Usage: credbroker operator seal [options]\n\n"
       "  Seals the server (needs a root token).\n",
       http_flags(), seal_run},
  };
}

}  // namespace credbroker::cli
