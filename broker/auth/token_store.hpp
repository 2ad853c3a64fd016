#pragma once
// token_store: service tokens, as Vault's token auth method, kept in storage (through the barrier)
// only as salted HMAC-SHA256s. Nothing a client holds or sends (a token, an accessor) is a storage
// key in clear:
//
//   auth/token/salt                               32 random bytes, written when the store is initialised
//   auth/token/id/<hmac(token)>                   the token's entry (JSON, see token_entry)
//   auth/token/accessor/<hmac("accessor:" a)>     <hmac(token)>
//   auth/token/parent/<hmac(parent a)>/<hmac(child a)>   ""   (the parent -> children index)
//
// hmac(x) = hex HMAC-SHA256(salt, x). A copy of the database file reveals no usable token and no
// accessor. Lookups hash the presented token; the comparison is the storage lookup of a MAC, so no
// token byte is compared in variable time. The salt is never made up on the fly: a store without
// one is damaged (every token would silently stop working), so the store refuses to work
// (errc::integrity_failure) until the seal manager's start-up checks settle it.
//
// Creation follows Vault's token store (handleCreateCommon): a caller without root or sudo on the
// create path may not choose the token id, create a periodic token, set no_parent on
// auth/token/create (auth/token/create-orphan is ACL'd on its own path instead), or ask for policies
// its own token lacks; a token with limited uses may not create tokens at all, and an expiring token
// may not create one that never expires. period and explicit_max_ttl are capped at the mount's
// (here the server's) max_lease_ttl, with a warning, as Vault's CalculateTTL caps them.
//
// Lifecycle: a token dies when revoked, when its TTL runs out, when its uses are spent, or when its
// parent dies (unless it is an orphan). Revoking a token revokes its descendants, children first,
// and tells every on_revoke listener (the lease manager revokes the leases the token created).
// An expired token is revoked the moment it is presented, and tidy() sweeps the rest.
//
// Example: root creates A (policies [dev]); A creates B. revoke(A) revokes B then A; B's leases and
// A's leases are handed to the listeners. Had B been created with create-orphan it would live on.
//
// Thread: all methods are safe concurrently. Entries are cached in memory (bounded) and every write
// goes through this store, so the cache is exact on a single node; clear_cache() on seal.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/auth/authenticator.hpp"
#include "broker/core/clock.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::auth {

struct token_entry {
  std::string accessor;
  std::vector<std::string> policies;
  std::string parent;  // parent's accessor; empty for orphans and root tokens
  bool orphan = true;
  std::string path;    // "auth/token/create", "auth/approle/login", "auth/token/root"
  std::string mount;   // the auth mount that issued it: "token/", "approle/"
  std::map<std::string, std::string> meta;
  std::string display_name;
  std::int64_t num_uses = 0;  // uses left; 0 = unlimited
  std::int64_t creation_time = 0;  // unix seconds
  std::int64_t creation_ttl = 0;   // seconds
  std::int64_t expire_time = 0;    // unix seconds; 0 = never expires
  std::int64_t explicit_max_ttl = 0;
  std::int64_t period = 0;
  bool renewable = false;
  std::int64_t last_renewal_time = 0;
  std::string role;
  // token_bound_cidrs: the token is usable only from these blocks (validated when created).
  std::vector<std::string> bound_cidrs;
};

struct token_limits {
  std::chrono::seconds default_ttl{768 * 3600};
  std::chrono::seconds max_ttl{768 * 3600};
};

// What the caller of auth/token/create (or an auth method's login) asks for.
struct token_request {
  std::optional<std::string> id;  // custom token value (root or sudo only)
  std::optional<std::vector<std::string>> policies;  // default: the parent's
  std::map<std::string, std::string> meta;
  bool no_parent = false;
  bool orphan_allowed = false;  // auth/token/create-orphan: no_parent without sudo, as in Vault
  bool no_default_policy = false;
  bool renewable = true;
  std::chrono::seconds ttl{0};
  std::chrono::seconds explicit_max_ttl{0};
  std::chrono::seconds period{0};
  std::string display_name;  // "" -> "token"; else "token-<name>" for auth/token, as is for methods
  std::int64_t num_uses = 0;
  std::string path = "auth/token/create";
  std::string mount = "token/";
  std::string role;
  std::vector<std::string> bound_cidrs;  // token_bound_cidrs (validated CIDR blocks or addresses)
  // Set by auth/token/create/:role (token_roles.hpp): the role decided `policies` (no subset-of-parent
  // check), and its period and explicit max TTL apply without sudo; with the request's own, the
  // lesser wins, with Vault's warning.
  bool role_decided_policies = false;
  std::chrono::seconds role_period{0};
  std::chrono::seconds role_explicit_max_ttl{0};
};

struct issued_token {
  secret token;
  token_entry entry;
  std::int64_t ttl = 0;  // seconds; 0 = never expires
  std::vector<std::string> warnings;
};

class token_store final : public authenticator {
 public:
  token_store(storage::physical& store, const clock& clk, token_limits limits = {})
      : store_(store), clock_(clk), limits_(limits) {}

  // A root token (policies ["root"], no expiry); `id` chooses its value (dev mode).
  result<secret> create_root(std::optional<std::string> id = std::nullopt);

  // auth/token/create. parent: the caller (nullptr for auth methods' logins, which make orphans).
  // privileged: the caller is root or holds sudo on the create path (custom ids, orphans through
  // no_parent, periodic tokens, any policy). Errors (errc::invalid_request, Vault's texts):
  //   "restricted use token cannot generate child tokens"
  //   "root or sudo privileges required to specify token id"
  //   "child policies must be subset of parent"
  //   "root tokens may not be created without parent token being root"
  //   "root or sudo privileges required to create orphan token"
  //   "root or sudo privileges required to create periodic token"
  //   "expiring root tokens cannot create non-expiring root tokens"
  //   "number of uses cannot be negative" ...
  result<issued_token> create(const identity* parent, bool privileged, token_request r);

  // Presents a token for one request: validates expiry, ancestry and the client address against
  // the token's bound CIDR blocks (before anything is spent, as Vault's CheckToken), then spends one use.
  std::optional<identity> authenticate(const secret& token) override;
  presented_token authenticate_from(const secret& token, std::string_view client_address) override;
  // The same checks without spending; spend_use() then spends one (the last use revokes the token,
  // whose request still runs).
  presented_token check_from(const secret& token, std::string_view client_address) override;
  bool spend_use(const secret& token) override;

  // Reads without spending a use. errc::invalid_request "bad token" when unknown or expired.
  result<token_entry> lookup(const secret& token);
  result<token_entry> lookup_accessor(const std::string& accessor);

  // Vault's token renew: increment 0 = the token's own TTL; capped by explicit_max_ttl and the
  // system max counted from creation, with a warning. "lease is not renewable" for non-renewable.
  result<issued_token> renew(const secret& token, std::chrono::seconds increment);
  result<issued_token> renew_accessor(const std::string& accessor, std::chrono::seconds increment);

  // Idempotent: an unknown token is a success.
  status revoke(const secret& token);
  status revoke_accessor(const std::string& accessor);
  // Revokes the token but makes its children orphans.
  status revoke_orphan(const secret& token);
  // Revokes every token issued by an auth mount (when the mount is disabled).
  status revoke_mount(const std::string& mount);
  // Every stored token's accessor, sorted (LIST auth/token/accessors, sudo).
  result<std::vector<std::string>> list_accessors();
  // Revokes expired tokens; returns how many.
  std::size_t tidy();

  // Called with the accessor of each revoked token, before its entry is deleted.
  void on_revoke(std::function<void(const std::string& accessor)> f);

  // Salted HMAC-SHA256 (hex) with the store's salt; for other stores of secrets (AppRole).
  result<std::string> hash(std::string_view data) const;
  // The name an accessor is stored under: hash("accessor:" + accessor). The lease manager's index of
  // the leases a token created uses it too.
  result<std::string> accessor_key(std::string_view accessor) const;
  // True for a name hash() or accessor_key() made (64 lowercase hex digits).
  static bool is_hashed(std::string_view name);
  // For layout upgrades (storage::rename_fn): accessor_key() of a name that is still a clear
  // accessor; nullopt for one already hashed.
  result<std::optional<std::string>> rename_accessor(std::string_view name) const;

  // Storage layout 1 (the first release) kept accessors in clear in the accessor and parent
  // indexes; this renames them to accessor_key(). Idempotent and safe to cut at any point (see
  // storage/rename.hpp); run at unseal before any request.
  status salt_accessor_keys();

  void clear_cache();

  // The storage the store keeps its entries in (token roles live beside them).
  storage::physical& storage() { return store_; }

  static std::string storage_key(const std::string& hmac) { return "auth/token/id/" + hmac; }
  static constexpr const char* salt_key = "auth/token/salt";
  // A new store's salt (32 random bytes).
  static std::string new_salt();

 private:
  result<std::optional<token_entry>> load(const std::string& hmac) const;
  result<std::optional<std::string>> hmac_of_accessor(const std::string& accessor) const;
  result<std::vector<std::string>> resolve_policies(const identity* parent, bool privileged,
                                                    const token_request& r) const;
  result<std::int64_t> initial_ttl(const token_request& r, bool is_root, issued_token& out) const;
  status save(const std::string& hmac, const token_entry& e, bool fresh);
  status revoke_tree(const std::string& hmac, bool orphan_children);
  bool alive(const token_entry& e, std::int64_t now, int depth) const;
  result<issued_token> renew_hmac(const std::string& hmac, std::chrono::seconds increment);
  result<secret> salt() const;
  std::int64_t now_seconds() const;

  storage::physical& store_;
  const clock& clock_;
  token_limits limits_;
  mutable std::mutex mu_;
  mutable std::optional<secret> salt_;
  mutable std::unordered_map<std::string, token_entry> cache_;  // hmac -> entry
  std::vector<std::function<void(const std::string&)>> revoke_listeners_;
};

// Vault's policyutil.SanitizePolicies: trimmed, lower case, no blanks, sorted, unique; "root" alone
// stands for everything; "default" is added when asked (never to root).
std::vector<std::string> sanitize_policies(const std::vector<std::string>& in, bool add_default);

std::string to_json(const token_entry& e);
std::optional<token_entry> token_entry_from_json(std::string_view text);

}  // namespace credbroker::auth
