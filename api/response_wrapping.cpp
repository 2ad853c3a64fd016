#include "api/response_wrapping.hpp"

#include <spdlog/spdlog.h>

#include "api/wire.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

error invalid_wrapping_token() {
  return make_error(errc::invalid_request, "wrapping token is not valid or does not exist");
}

std::string entry_text(const response_wrapping::wrapped& w) {
  return nlohmann::json{{"response", w.response},
                        {"creation_ttl", w.creation_ttl},
                        {"creation_time", w.creation_time},
                        {"creation_path", w.creation_path}}
      .dump();
}

std::optional<response_wrapping::wrapped> entry_from_text(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  response_wrapping::wrapped w;
  w.response = j.value("response", "");
  w.creation_ttl = j.value("creation_ttl", std::int64_t{0});
  w.creation_time = j.value("creation_time", std::int64_t{0});
  w.creation_path = j.value("creation_path", "");
  return w;
}

// The accessor of what a response carries, for wrap_info.wrapped_accessor: a token's, or on an
// AppRole mount a secret ID's (as Vault's wrapInCubbyhole).
std::string wrapped_accessor_of(const reply& r, std::string_view mount_type) {
  if (r.auth.is_object() && r.auth.contains("accessor") && r.auth["accessor"].is_string()) {
    return r.auth["accessor"].get<std::string>();
  }
  if (mount_type == "approle" && r.auth.is_null() && r.data.is_object() && r.data.contains("secret_id_accessor") &&
      r.data["secret_id_accessor"].is_string()) {
    return r.data["secret_id_accessor"].get<std::string>();
  }
  return "";
}

}  // namespace

response_wrapping::response_wrapping(storage::physical& store, auth::token_store& tokens)
    : store_(store), tokens_(tokens) {
  tokens_.on_revoke([this](const std::string& accessor) { forget(accessor); });
}

void response_wrapping::forget(const std::string& accessor) {
  auto key = tokens_.accessor_key(accessor);
  if (!key) return;
  const std::string k = prefix + *key;
  auto existing = store_.get(k);  // a read for every revoked token; a write only for wrapping tokens
  if (!existing || !existing->has_value()) return;
  if (auto s = store_.remove(k); !s) spdlog::error("could not delete a revoked wrapping token's response");
}

result<nlohmann::json> response_wrapping::wrap(std::string body, std::chrono::seconds ttl,
                                               const std::string& creation_path,
                                               const std::string& wrapped_accessor) {
  auth::token_request tr;
  tr.policies = std::vector<std::string>{policy_name};
  tr.no_default_policy = true;
  tr.num_uses = 1;
  tr.ttl = ttl;
  tr.explicit_max_ttl = ttl;
  tr.renewable = false;
  tr.path = creation_path;
  auto t = tokens_.create(nullptr, true, std::move(tr));
  if (!t) return std::move(t).err();
  wrapped w;
  w.response = std::move(body);
  w.creation_ttl = t->ttl;
  w.creation_time = t->entry.creation_time;
  w.creation_path = creation_path;
  auto key = tokens_.accessor_key(t->entry.accessor);
  status stored = key ? store_.put(prefix + *key, entry_text(w)) : status(std::move(key).err());
  if (!stored) {
    (void)tokens_.revoke(t->token);
    return std::move(stored).err();
  }
  nlohmann::json info = {
      {"token", t->token.reveal()},
      {"accessor", t->entry.accessor},
      {"ttl", t->ttl},
      {"creation_time", format_rfc3339_seconds(w.creation_time)},
      {"creation_path", creation_path},
  };
  if (!wrapped_accessor.empty()) info["wrapped_accessor"] = wrapped_accessor;
  return info;
}

result<std::string> response_wrapping::key_of(const secret& token, auth::token_entry* entry) {
  if (token.empty()) return invalid_wrapping_token();
  auto e = tokens_.lookup(token);
  if (!e) {
    if (e.err().code == make_error_code(errc::invalid_request)) return invalid_wrapping_token();
    return std::move(e).err();
  }
  if (e->policies != std::vector<std::string>{policy_name}) return invalid_wrapping_token();
  auto key = tokens_.accessor_key(e->accessor);
  if (!key) return std::move(key).err();
  if (entry != nullptr) *entry = std::move(*e);
  return prefix + *key;
}

result<response_wrapping::wrapped> response_wrapping::lookup(const secret& token) {
  auto key = key_of(token, nullptr);
  if (!key) return std::move(key).err();
  auto text = store_.get(*key);
  if (!text) return std::move(text).err();
  if (!text->has_value()) return invalid_wrapping_token();
  auto w = entry_from_text(**text);
  if (!w) return make_error(errc::integrity_failure, "a stored wrapped response is damaged");
  return std::move(*w);
}

result<response_wrapping::wrapped> response_wrapping::unwrap(const secret& token) {
  std::optional<wrapped> out;
  {
    std::lock_guard lock(claim_mu_);
    auto w = lookup(token);
    if (!w) return std::move(w).err();
    auto key = key_of(token, nullptr);
    if (!key) return std::move(key).err();
    if (auto s = store_.remove(*key); !s) return std::move(s).err();
    out = std::move(*w);
  }
  if (auto s = tokens_.revoke(token); !s) spdlog::error("could not revoke an unwrapped wrapping token");
  return std::move(*out);
}

reply apply_wrapping(response_wrapping* w, reply r, const request& req, std::string_view mount_type) {
  if (!req.wrap_ttl) return r;
  switch (r.k) {
    case reply::kind::error:
    case reply::kind::empty: return r;  // nothing to wrap, as Vault
    case reply::kind::raw:
      if (r.data.is_null()) return r;  // a bare status (HEAD, 202)
      return reply::fail(400, "the response of " + req.path + " cannot be wrapped (X-Vault-Wrap-TTL)");
    case reply::kind::envelope: break;
  }
  if (!r.wrap_info.is_null()) return r;  // the handler wrapped it itself (unwrap, rewrap)
  if (w == nullptr) return reply::fail(400, "response wrapping is not available on this server");
  const std::string body = render(r, &req, mount_type).body;
  auto info = w->wrap(body, *req.wrap_ttl, req.path, wrapped_accessor_of(r, mount_type));
  if (!info) {
    spdlog::error("could not wrap the response of {}", req.path);
    return reply::fail(500, multierror_text("internal error"));
  }
  reply out = reply::with_data(nullptr);
  out.wrap_info = std::move(*info);
  return out;
}

bool within_wrapping_bounds(const auth::acl_decision& d, const std::optional<std::chrono::seconds>& wrap_ttl) {
  const std::int64_t ttl = wrap_ttl ? wrap_ttl->count() : 0;
  if (d.max_wrapping_ttl > 0 && (!wrap_ttl || ttl > d.max_wrapping_ttl)) return false;
  if (d.min_wrapping_ttl > 0 && (!wrap_ttl || ttl < d.min_wrapping_ttl)) return false;
  if (d.min_wrapping_ttl != 0 && d.max_wrapping_ttl != 0 && d.max_wrapping_ttl < d.min_wrapping_ttl) return false;
  return true;
}

}  // namespace credbroker::api
