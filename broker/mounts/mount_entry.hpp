#pragma once
// mount_entry: one row of a mount table (core/mounts for secrets engines, core/auth for auth
// methods) and the table's stored form, a JSON array of rows:
//   [{"path":"database/","type":"database","description":"","accessor":"database_3kQ9xL2a",
//     "uuid":"6f1c...","default_ttl":0,"max_ttl":0}]
// A row without a path or uuid is skipped on decode (it never held data); a table that is not an
// array is damaged (errc::internal naming `what`, e.g. "the mount table (core/mounts)").
// Thread: plain values and pure functions.
#include <cstdint>
#include <map>
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

std::string encode_rows(const mount_rows& rows);
result<mount_rows> decode_rows(const std::string& text, const std::string& what);

}  // namespace credbroker::mounts
