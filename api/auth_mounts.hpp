#pragma once
// auth_mounts: the table of enabled auth methods (sys/auth), persisted at core/auth, and their
// mounts in the router ("auth/<path>"). The token method is built in at auth/token/ and cannot be
// disabled. The one other method type is "approle".
//
// Each enabled method keeps its data under auth/method/<uuid>/ (see auth::approle_backend), so a
// method re-enabled at the same path starts empty. Disabling a method revokes the tokens it issued
// and deletes its data.
// Thread: enable/disable/table are safe concurrently with requests (the router locks its table).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/secret_mounts.hpp"
#include "broker/auth/approle.hpp"
#include "broker/auth/token_store.hpp"

namespace credbroker::api {

class auth_mounts {
 public:
  static constexpr const char* table_key = "core/auth";
  static constexpr const char* data_prefix = "auth/method/";  // + <mount uuid>/

  auth_mounts(storage::physical& store, auth::token_store& tokens, const clock& clk)
      : store_(store), tokens_(tokens), clock_(clk) {}

  // Called once by the service that owns the router.
  void attach(router& r) { router_ = &r; }
  // Reads core/auth and mounts every method (after unseal). Idempotent.
  status load();
  // Removes the methods' mounts (on seal).
  void unload();
  // path: "approle" or "approle/" or "team/approle". Errors (400): "path is already in use at x/",
  // "unknown auth method type: \"x\"".
  status enable(std::string path, const std::string& type, const std::string& description);
  // Idempotent. "token/" cannot be disabled.
  status disable(std::string path);
  // sys/auth's data: "token/": {...}, "approle/": {...}
  nlohmann::json table() const;
  // One entry of table() ("approle" or "approle/"); nullopt when not enabled.
  std::optional<nlohmann::json> describe(std::string path) const;
  // sys/auth/:path/tune. The TTLs are recorded and reported; tokens are capped by the server's
  // limits and the role's, not yet by the method's tune (docs/compatibility.md).
  status tune(std::string path, const mount_tune& t);
  std::optional<nlohmann::json> read_tune(std::string path) const;
  // The method's path a path below auth/ falls under ("approle/login" -> "approle/"), "" if none.
  std::string mount_of(const std::string& path) const;

 private:
  struct entry {
    std::string path;  // "approle/"
    std::string type;
    std::string description;
    std::string accessor;
    std::string uuid;
    std::int64_t default_ttl = 0;  // sys/auth/:path/tune; 0 = the server's
    std::int64_t max_ttl = 0;
  };
  static nlohmann::json describe_entry(const entry& e);
  status save_locked() const;
  void mount_locked(const entry& e);

  storage::physical& store_;
  auth::token_store& tokens_;
  const clock& clock_;
  router* router_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, entry> entries_;  // by path
  std::string token_accessor_ = "auth_token_builtin";
};

// The routes of one AppRole mount (auth_approle.cpp).
std::shared_ptr<mount_table_entry> approle_mount(const std::string& mount_path,
                                                 std::shared_ptr<auth::approle_backend> backend);

}  // namespace credbroker::api
