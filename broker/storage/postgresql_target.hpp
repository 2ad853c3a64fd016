#pragma once
// postgresql_target: which PostgreSQL server the storage backend (and the HA lock) talk to, parsed
// once from the configured connection_url, and how to talk about it without leaking the password.
//
//   connection_url "postgresql://credbroker:s3cret@db.internal:5432/credbroker?sslmode=require"
//   -> conninfo  the same string plus connect_timeout=10, application_name=credbroker-storage,
//                tcp_user_timeout=10000 and keepalives (idle 10 s, interval 5 s, count 3) where the
//                URL does not set them, so a vanished server fails a call instead of hanging it
//   -> server    "db.internal:5432/credbroker"   (host:port/dbname: every error names it)
//
// Both libpq forms are accepted (URI and "host=... dbname=..." keywords); libpq parses them
// (PQconninfoParse), so what we name is what libpq will connect to. The password never appears in
// server(), in errors or in logs: error text from the driver is scrubbed of it (raw and
// percent-encoded) before it leaves describe().
// Thread: immutable after parse(); share it freely.
#include <exception>
#include <string>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::storage {

class postgresql_target {
 public:
  // Errors: errc::invalid_request for an empty or unparsable URL (libpq's reason, scrubbed).
  static result<postgresql_target> parse(const secret& connection_url, int connect_timeout_seconds = 10);

  const secret& conninfo() const { return conninfo_; }
  const std::string& server() const { return server_; }

  // errc::storage_failure: "<what> (PostgreSQL at <server>): <driver message, scrubbed>".
  error failure(const std::string& what, const std::exception& e) const;
  error failure(const std::string& what, const std::string& detail) const;
  // Driver text with the password removed.
  std::string scrub(std::string text) const;

 private:
  secret conninfo_;
  secret password_;
  std::string server_;
};

}  // namespace credbroker::storage
