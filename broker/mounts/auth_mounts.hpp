#pragma once
// auth_mounts: the table of enabled auth methods (sys/auth), persisted at core/auth (the rows of
// mount_entry.hpp). The token method is built in at auth/token/ and cannot be disabled or tuned;
// the one other method type is "approle", one auth::approle_backend per enabled path.
//
// Each enabled method keeps its data under auth/method/<uuid>/ (auth::approle_backend), so a method
// re-enabled at the same path starts empty. Disabling a method takes it off the observer first,
// then revokes the tokens it issued, deletes its data and drops its row (a crash in between leaves
// the row: disabling again finishes the job). Every change is stored before it is published.
//   enable("team/approle", "approle") -> core/auth += {path "team/approle/", uuid U} stored
//                                     -> backend on "auth/method/U/" -> observer.mounted
//
// The tune's TTLs are recorded and reported; tokens are capped by the server's limits and the
// role's, not yet by the method's tune (docs/compatibility.md).
// Errors are domain codes (errc::invalid_request: "path is already in use at x/", "unknown auth
// method type: \"x\" ...", ...); api/ maps them to statuses.
//
// Locks, in this order: write_mu_ (serialises the table's changes; held across the core/auth
// write, never across the tokens' revocation or the data deletion), then rows_mu_ (guards rows_;
// memory only), then the observer's own lock.
// Thread: safe concurrently with requests.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "broker/auth/approle.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/mounts/mount_entry.hpp"
#include "broker/mounts/mount_observer.hpp"
#include "broker/mounts/secret_mounts.hpp"

namespace credbroker::mounts {

class auth_mounts {
 public:
  static constexpr const char* table_key = "core/auth";
  static constexpr const char* data_prefix = "auth/method/";  // + <mount uuid>/
  static constexpr const char* token_accessor = "auth_token_builtin";
  static constexpr const char* token_uuid = "00000000-0000-0000-0000-000000000000";

  auth_mounts(storage::physical& store, auth::token_store& tokens, const clock& clk)
      : store_(store), tokens_(tokens), clock_(clk) {}

  void observe(auth_mount_observer* o) { observer_ = o; }
  // Reads core/auth and makes every method live (after unseal). Idempotent.
  status load();
  // Takes every method down (on seal).
  void unload();
  // path: "approle" or "approle/" or "team/approle".
  status enable(std::string path, const std::string& type, const std::string& description);
  // Idempotent. "token/" cannot be disabled.
  status disable(std::string path);
  status tune(std::string path, const mount_tune& t);

  // The enabled methods (token/ not included) and one of them; nullopt when not enabled.
  mount_rows rows() const;
  std::optional<mount_entry> find(std::string path) const;
  // The method's path a path below auth/ falls under ("approle/login" -> "approle/"; "token/..." ->
  // "token/"), "" if none.
  std::string mount_of(const std::string& path) const;

 private:
  void go_live(const mount_entry& e);
  void take_down(const std::string& path);
  status store_rows(const mount_rows& next) const;

  storage::physical& store_;
  auth::token_store& tokens_;
  const clock& clock_;
  auth_mount_observer* observer_ = nullptr;
  std::mutex write_mu_;
  mutable std::mutex rows_mu_;
  mount_rows rows_;
};

}  // namespace credbroker::mounts
