#pragma once
// mount_entry: one row of a mount table (core/mounts for secrets engines, core/auth for auth
// methods) and the table's stored form, a JSON array of rows:
//   [{"path":"database/","type":"database","description":"","accessor":"database_3kQ9xL2a",
//     "uuid":"6f1c...","default_ttl":0,"max_ttl":0}]
// A row without a path or uuid is skipped on decode (it never held data); a table that is not an
// array is damaged (errc::internal naming `what`, e.g. "the mount table (core/mounts)").
// Thread: plain values and pure functions (apply_tune changes only its argument).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "broker/core/result.hpp"

namespace credbroker::mounts {

struct mount_entry {
  std::string path;  // "database/" (auth methods: "approle/", below auth/)
  std::string type;
  std::string description;
  std::string accessor;
  std::string uuid;              // the mount's data lives under <data prefix><uuid>/
  std::int64_t default_ttl = 0;  // seconds; 0 = the server's (tune)
  std::int64_t max_ttl = 0;
};

using mount_rows = std::map<std::string, mount_entry>;  // by path

// A tune as Vault's: an unset field keeps the value; 0 is the server's default ("system").
struct mount_tune {
  std::optional<std::chrono::seconds> default_ttl;
  std::optional<std::chrono::seconds> max_ttl;
  std::optional<std::string> description;
};

// Applies `t` to `e`. errc::invalid_request (e then half-changed: apply it to a copy) when a max
// is set and below the default: "backend max lease TTL of 60 would be less than backend default
// lease TTL of 3600".
status apply_tune(mount_entry& e, const mount_tune& t);

std::string encode_rows(const mount_rows& rows);
result<mount_rows> decode_rows(const std::string& text, const std::string& what);

}  // namespace credbroker::mounts
