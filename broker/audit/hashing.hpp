#pragma once
// hashing: how an audit device hides values — Vault's salt.GetIdentifiedHMAC and
// audit.HashStructure.
//
//   salt::hmac(v)  = "hmac-sha256:" + hex(HMAC-SHA256(key = the device's salt, v))
//
// A device's salt is a random UUID string made when the device is enabled and kept at
// audit/<device uuid>/salt through the barrier (audit_table.hpp); sys/audit-hash/:path returns
// hmac(input) so an operator can find a known value in the log without the log holding it.
//
// append_hashed writes a JSON value as JSON text (json_text.hpp) with these values hidden:
//   - every string (never an object key) when all_strings — Vault's rule for request and response
//     data — except strings that are exactly an RFC 3339 timestamp, which Vault keeps readable;
//   - always, whatever all_strings says, every string or number under a secret key (secret_key()),
//     so a password stays hidden with log_raw and when a client sends it as a JSON number.
// The key that decides is the innermost object key above the value (array elements inherit it),
// as in Vault: {"keys": ["a"]} looks at "keys" for "a".
//
// Example: append_hashed(out, {"username":"v-app-x","password":"p","ttl":3600,"expires":"2026-01-02T03:04:05Z"},
// salt, true) -> {"username":"hmac-sha256:…","password":"hmac-sha256:…","ttl":3600,
// "expires":"2026-01-02T03:04:05Z"}; with all_strings false only "password" changes.
// Thread: a salt is immutable once made; hmac() and append_hashed() may run concurrently (each thread
// digests in its own working context).
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "broker/core/secret.hpp"

namespace credbroker::audit {

// HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 with the key's inner and outer pads hashed once, at
// construction: an HMAC then costs two digest-state copies and two short digests (≈ 0.8 µs, where
// OpenSSL's one-shot HMAC() sets the key up every call, ≈ 5 µs on this machine). Checked against
// HMAC() for keys shorter than, equal to and longer than the 64-byte block (hashing_test.cpp).
class salt {
 public:
  explicit salt(secret key);
  std::string hmac(std::string_view data) const;

 private:
  struct pads;
  std::shared_ptr<const pads> pads_;  // immutable; shared by copies
};

// Keys whose values are secrets wherever they appear in request or response data: passwords,
// tokens, secret IDs, private keys, unseal and root-generation material.
bool secret_key(std::string_view key);

// Go's time.Time.UnmarshalText: "2006-01-02T15:04:05Z", optional fraction, "Z" or "+hh:mm".
bool is_rfc3339(std::string_view s);

// The data of a request or response, appended to `out` hidden as above, without a copy of it. With
// elide_list (Vault's elide_list_responses, for the data of a list response) a top-level "keys" array
// is written as its length and a top-level "key_info" object as its number of members.
void append_hashed(std::string& out, const nlohmann::json& data, const salt& s, bool all_strings, bool elide_list);

}  // namespace credbroker::audit
