#pragma once
// router: mount table + per-mount path tables (Vault's router + framework.Path).
//
// A mount is a path prefix ending in '/' ("sys/", "database/") with a type ("system", "database")
// and an ordered list of routes. Patterns are relative to the mount and split on '/':
//   "health"               literal segments
//   "policy/:name"         one segment, matching Vault's GenericNameRegex \w(([\w-.]+)?\w)?
//   "leases/lookup/*prefix" the rest of the path, possibly empty, slashes included
//   "roles/"               a list route (list requests end in '/')
// The first route whose pattern matches wins. Example: mount "sys/", path "sys/policy/dev" ->
// route "policy/:name" with captures {name: "dev"}.
//
// A capture named after a credential (is_credential_capture: "token", "accessor", "secret_id",
// "lease" in the name, or "prefix", the lease prefixes of sys/leases) never reaches the request log
// in clear: loggable_path writes it as a hash. Name captures accordingly.
//
// Thread: routes are added at start-up; add_mount/remove_mount take a writer lock and lookups a
// reader lock, so mounts may change while requests are served.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/fields.hpp"
#include "api/message.hpp"

namespace credbroker::api {

using handler = std::function<reply(request&, const field_data&)>;

struct route {
  std::string pattern;
  std::vector<field_spec> fields;
  std::map<operation, handler> operations;
  bool unauthenticated = false;   // no token needed (sys/health, sys/seal-status, ...)
  bool available_sealed = false;  // served while sealed or uninitialised
  bool warn_unknown_fields = true;
  bool sudo = false;  // a root path: the caller's ACL must grant sudo on it (besides the operation)
  // Turns an update into a create when the target does not exist yet (ACL create vs update).
  std::function<bool(const request&)> exists;
};

struct mount_table_entry {
  std::string path;  // "sys/"
  std::string type;  // "system"
  std::vector<route> routes;
};

class router {
 public:
  void add_mount(std::shared_ptr<const mount_table_entry> m);
  bool remove_mount(const std::string& path);

  struct match {
    std::shared_ptr<const mount_table_entry> mount;  // null: no mount for this path
    const route* r = nullptr;                       // null: no route under the mount
    std::map<std::string, std::string> captures;
  };
  match find(const std::string& path) const;

  // Sets the captures and mount on req and turns an update into a create when the route's
  // existence check says the target is new (the ACL distinguishes create from update). Idempotent.
  void resolve_operation(const match& m, request& req) const;

  // The request log's form of a percent-decoded path below /v1/: credential captures of the route it
  // matches replaced by hash(value); for a path no route matches, the segments some route of its
  // mount covers in clear (literals, captures that are no credential), then the rest as one hash;
  // without a mount, the leading segments some mount path starts with ("auth/" of
  // "auth/typo/x"), then a hash of the rest. Text in clear is percent-escaped
  // outside [A-Za-z0-9._~!$&'()*+,;=:@/-], so a log line holds no control character.
  // Examples (h(x) = hash(x)):
  //   "sys/leases/lookup/database/creds/ro/abc"  -> "sys/leases/lookup/" + h("database/creds/ro/abc")
  //   "auth/token/lookup-accessor/abc"           -> "auth/token/lookup-accessor/" + h("abc") (no route)
  //   "database/creds/ro"                        -> "database/creds/ro"
  using hash_fn = std::function<std::string(std::string_view)>;
  std::string loggable_path(const std::string& path, const hash_fn& hash) const;

  // Runs the matched route: existence check (unless resolved), operation lookup (405), field conversion (400),
  // the handler (exceptions become 500), then Vault's post-processing (empty list -> 404,
  // unknown-parameter warning, which turns a 204 into a 200 carrying it). Precondition: m.r != nullptr.
  reply invoke(const match& m, request& req) const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<const mount_table_entry>> mounts_;  // longest path first
};

// Vault's GenericNameRegex: \w(([\w-.]+)?\w)?
bool is_generic_name(std::string_view s);

// True when a route capture of this name holds a credential (see the header comment).
bool is_credential_capture(std::string_view name);

// The request log's form of a target outside /v1/: a leading '/' and a hash of the rest.
// "/ui/x/y" -> "/" + hash("ui/x/y").
std::string loggable_unrouted(std::string_view path, const router::hash_fn& hash);

}  // namespace credbroker::api
