// operator generate-root and operator rekey: the quorum operations (Vault CLI compatible flags).
//   operator generate-root -init [-otp=OTP]   PUT sys/generate-root/attempt; prints the nonce, and the
//                                             OTP when the server made it
//   operator generate-root -status | -cancel  GET | DELETE sys/generate-root/attempt
//   operator generate-root -nonce=N KEY|-     PUT sys/generate-root/update; the last key prints the
//                                             encoded token
//   operator generate-root -decode=E -otp=OTP the token: base64 (unpadded) of E, XOR the OTP (local)
//   operator rekey -init -key-shares=N -key-threshold=T [-verify]   PUT sys/rekey/init
//   operator rekey -status | -cancel [-nonce=N]                     GET | DELETE sys/rekey/init
//   operator rekey -nonce=N KEY|-                                   PUT sys/rekey/update; the last
//                                                                   key prints the new keys
//   operator rekey -verify -nonce=N NEWKEY|-                        PUT sys/rekey/verify
// Example: credbroker operator generate-root -init; then -nonce=<nonce> <key> up to the threshold;
// then -decode=<encoded token> -otp=<otp> prints the new root token.
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#include "broker/core/encoding.hpp"
#include "cli/commands.hpp"

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

// KEY from the argument, or one line of stdin for "-" (and no argument).
std::string read_key(const invocation& inv) {
  std::string key = inv.args.empty() ? "-" : inv.args.front();
  if (key == "-") {
    std::getline(std::cin, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  }
  return key;
}

// The reply as a "Key Value" table (table format) or in the invocation's format.
int print_fields(const invocation& inv, const json& reply, const std::vector<std::pair<const char*, const char*>>& rows) {
  if (inv.format != output_format::table) return print_output(format_data(reply, inv.format));
  std::printf("Key                  Value\n---                  -----\n");
  for (const auto& [label, name] : rows) {
    if (!reply.contains(name)) continue;
    const json& v = reply[name];
    const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    if (v.is_string() && text.empty()) continue;
    std::printf("%-20s %s\n", label, text.c_str());
  }
  return exit_code::ok;
}

const std::vector<std::pair<const char*, const char*>> generation_rows = {
    {"Nonce", "nonce"}, {"Started", "started"}, {"Progress", "progress"}, {"Required", "required"},
    {"Complete", "complete"}, {"Encoded Token", "encoded_token"}, {"OTP", "otp"}, {"OTP Length", "otp_length"}};
const std::vector<std::pair<const char*, const char*>> rekey_rows = {
    {"Nonce", "nonce"}, {"Started", "started"}, {"Rekey Progress", "progress"}, {"Required", "required"},
    {"New Shares", "n"}, {"New Threshold", "t"}, {"Verification Required", "verification_required"},
    {"Verification Nonce", "verification_nonce"}, {"Complete", "complete"}};

int decode_token(const invocation& inv) {
  const std::string otp = inv.flags.value("otp");
  if (otp.empty()) return local_error("Missing otp: use -otp to supply it");
  std::string encoded = inv.flags.value("decode");
  while (encoded.size() % 4 != 0) encoded += '=';
  auto raw = base64_decode(encoded);
  if (!raw) return local_error("Error decoding base64'd token: illegal base64 data");
  if (raw->size() != otp.size()) {
    return local_error("Error xoring token: length of byte slices is not equivalent: " + std::to_string(raw->size()) +
                       " != " + std::to_string(otp.size()));
  }
  for (std::size_t i = 0; i < raw->size(); ++i) (*raw)[i] = static_cast<char>((*raw)[i] ^ otp[i]);
  if (inv.format != output_format::table) return print_output(format_data(json{{"token", *raw}}, inv.format));
  return print_raw(*raw);
}

int generate_root_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 1)) return *bad;
  if (inv.flags.has("decode")) return decode_token(inv);
  const http_client client = inv.client();
  const std::string attempt = "sys/generate-root/attempt";
  if (inv.flags.flag("cancel")) {
    auto r = send(client, "DELETE", attempt);
    if (!r) return remote_error("Error canceling root token generation: " + r.err().message);
    return print_output("Success! Root token generation canceled (if it was started)");
  }
  std::string method = "PUT", path = attempt, what = "Error initializing root generation: ";
  json body = {{"otp", inv.flags.value("otp")}, {"pgp_key", ""}};
  if (inv.flags.flag("status")) {
    method = "GET";
    what = "Error getting root generation status: ";
  } else if (!inv.flags.flag("init")) {
    const std::string nonce = inv.flags.value("nonce");
    if (nonce.empty()) return local_error("Missing nonce value: specify it via the -nonce flag");
    path = "sys/generate-root/update";
    what = "Error posting unseal key: ";
    body = {{"key", read_key(inv)}, {"nonce", nonce}};
  }
  auto r = send(client, method, path, method == "GET" ? nullptr : &body);
  if (!r || !*r) return remote_error(what + (r ? std::string("empty reply") : r.err().message));
  return print_fields(inv, **r, generation_rows);
}

// The new keys of a finished rekey, as the vault CLI prints them.
int print_new_keys(const invocation& inv, const json& reply) {
  if (inv.format != output_format::table) return print_output(format_data(reply, inv.format));
  const json& keys = reply["keys_base64"];
  for (std::size_t i = 0; i < keys.size(); ++i) std::printf("Key %zu: %s\n", i + 1, keys[i].get<std::string>().c_str());
  std::printf("\nOperation nonce: %s\n", reply.value("nonce", "").c_str());
  if (reply.value("verification_required", false)) {
    std::printf("\nThese keys are not active until verified: give %s of them back with\n"
                "\"credbroker operator rekey -verify -nonce=%s KEY\". The current keys stay valid until then.\n",
                "enough", reply.value("verification_nonce", "").c_str());
  } else {
    std::printf("\nRekeyed with %zu key shares: the previous keys no longer unseal the server.\n", keys.size());
  }
  return exit_code::ok;
}

int rekey_init(const invocation& inv, const http_client& client) {
  int shares = 5, threshold = 3;
  try {
    shares = std::stoi(inv.flags.value("key-shares", "5"));
    threshold = std::stoi(inv.flags.value("key-threshold", "3"));
  } catch (const std::exception&) {
    return local_error("-key-shares and -key-threshold take whole numbers");
  }
  const json body = {{"secret_shares", shares}, {"secret_threshold", threshold},
                     {"require_verification", inv.flags.flag("verify")}};
  auto r = send(client, "PUT", "sys/rekey/init", &body);
  if (!r || !*r) return remote_error("Error initializing rekey: " + (r ? std::string("empty reply") : r.err().message));
  return print_fields(inv, **r, rekey_rows);
}

int rekey_run(const invocation& inv) {
  if (auto bad = check_arg_count(inv, 0, 1)) return *bad;
  const http_client client = inv.client();
  const bool verify = inv.flags.flag("verify");
  if (inv.flags.flag("init")) return rekey_init(inv, client);
  if (inv.flags.flag("cancel")) {
    const json body = {{"nonce", inv.flags.value("nonce")}};
    auto r = send(client, "DELETE", verify ? "sys/rekey/verify" : "sys/rekey/init", &body);
    if (!r) return remote_error("Error canceling rekey: " + r.err().message);
    return print_output("Success! Canceled rekeying (if it was started)");
  }
  if (inv.flags.flag("status")) {
    auto r = send(client, "GET", verify ? "sys/rekey/verify" : "sys/rekey/init");
    if (!r || !*r) return remote_error("Error reading rekey status: " + (r ? std::string("empty reply") : r.err().message));
    return print_fields(inv, **r, rekey_rows);
  }
  const std::string nonce = inv.flags.value("nonce");
  if (nonce.empty()) return local_error("Missing nonce value: specify it via the -nonce flag");
  const json body = {{"key", read_key(inv)}, {"nonce", nonce}};
  auto r = send(client, "PUT", verify ? "sys/rekey/verify" : "sys/rekey/update", &body);
  if (!r || !*r) return remote_error("Error posting unseal key: " + (r ? std::string("empty reply") : r.err().message));
  if (!(*r)->value("complete", false)) return print_fields(inv, **r, rekey_rows);
  if (verify) return print_output("Rekey verification successful.");
  return print_new_keys(inv, **r);
}

}  // namespace

std::vector<command> operator_key_commands() {
  const auto common = flag_list({http_flags(), output_flags(false)});
  return {
      {"operator generate-root", "Make a new root token with a quorum of unseal keys",
       "Usage: credbroker operator generate-root [options] [KEY | -]\n\n"
       "  Makes a new root token from a quorum of unseal keys (a lost root token). Start with -init (the\n"
       "  server makes the one-time password unless -otp gives one), give each key with -nonce, then\n"
       "  -decode the encoded token with -otp. No token is needed. PGP keys are not supported.\n",
       flag_list({common,
                  {{"init", false, "", "Start a root token generation."},
                   {"status", false, "", "Show the current attempt."},
                   {"cancel", false, "", "Cancel the current attempt."},
                   {"otp", true, "OTP", "The one-time password (28 characters) for -init or -decode."},
                   {"nonce", true, "NONCE", "The attempt's nonce, with each key."},
                   {"decode", true, "ENCODED", "Decode the encoded token with -otp (no request is sent)."}}}),
       generate_root_run},
      {"operator rekey", "Replace the unseal keys with a quorum of the current ones",
       "Usage: credbroker operator rekey [options] [KEY | -]\n\n"
       "  Makes new unseal keys: start with -init, give the current keys with -nonce; the last one prints\n"
       "  the new keys, and the old keys stop working (with -verify at -init: once enough new keys were\n"
       "  given back with -verify -nonce). No token is needed. PGP keys are not supported.\n",
       flag_list({common,
                  {{"init", false, "", "Start a rekey."},
                   {"status", false, "", "Show the current rekey (its verification with -verify)."},
                   {"cancel", false, "", "Cancel the current rekey (give -nonce, or use a root token)."},
                   {"key-shares", true, "N", "With -init: number of new key shares (default 5)."},
                   {"key-threshold", true, "N", "With -init: shares needed to unseal (default 3)."},
                   {"verify", false, "", "With -init: hold the new keys until verified; else act on the verification."},
                   {"nonce", true, "NONCE", "The rekey's (or the verification's) nonce, with each key."}}}),
       rekey_run},
  };
}

}  // namespace credbroker::cli
