#include "broker/auth/token_store.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "broker/core/cidr.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/rename.hpp"

namespace credbroker::auth {
namespace {

constexpr const char* id_prefix = "auth/token/id/";
constexpr const char* accessor_prefix = "auth/token/accessor/";
constexpr const char* parent_prefix = "auth/token/parent/";
constexpr std::size_t cache_limit = 1 << 16;
constexpr int max_ancestry = 64;

error bad(std::string m) { return make_error(errc::invalid_request, std::move(m)); }

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> without_default(std::vector<std::string> v) {
  std::erase(v, std::string("default"));
  return v;
}

std::string sanitise_display_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    out += ok ? c : '-';
  }
  return out;
}

}  // namespace

// Vault's policyutil.SanitizePolicies: trimmed, lower case, no blanks, sorted, unique; "root" alone
// stands for everything; "default" is added when asked (never to root).
std::vector<std::string> sanitize_policies(const std::vector<std::string>& in, bool add_default) {
  std::vector<std::string> out;
  for (auto p : in) {
    const auto b = p.find_first_not_of(" \t");
    const auto e = p.find_last_not_of(" \t");
    p = b == std::string::npos ? "" : p.substr(b, e - b + 1);
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (p == "root") return {"root"};
    if (!p.empty()) out.push_back(p);
  }
  if (add_default && !contains(out, "default")) out.push_back("default");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string to_json(const token_entry& e) {
  return nlohmann::json{{"accessor", e.accessor},
                        {"policies", e.policies},
                        {"parent", e.parent},
                        {"orphan", e.orphan},
                        {"path", e.path},
                        {"mount", e.mount},
                        {"meta", e.meta},
                        {"display_name", e.display_name},
                        {"num_uses", e.num_uses},
                        {"creation_time", e.creation_time},
                        {"creation_ttl", e.creation_ttl},
                        {"expire_time", e.expire_time},
                        {"explicit_max_ttl", e.explicit_max_ttl},
                        {"period", e.period},
                        {"renewable", e.renewable},
                        {"last_renewal_time", e.last_renewal_time},
                        {"role", e.role},
                        {"bound_cidrs", e.bound_cidrs}}
      .dump();
}

std::optional<token_entry> token_entry_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  token_entry e;
  try {
    e.accessor = j.value("accessor", "");
    e.policies = j.value("policies", std::vector<std::string>{});
    e.parent = j.value("parent", "");
    e.orphan = j.value("orphan", true);
    e.path = j.value("path", "");
    e.mount = j.value("mount", "token/");
    e.meta = j.value("meta", std::map<std::string, std::string>{});
    e.display_name = j.value("display_name", "token");
    e.num_uses = j.value("num_uses", std::int64_t{0});
    e.creation_time = j.value("creation_time", std::int64_t{0});
    e.creation_ttl = j.value("creation_ttl", j.value("ttl", std::int64_t{0}));
    e.expire_time = j.value("expire_time", std::int64_t{0});
    e.explicit_max_ttl = j.value("explicit_max_ttl", std::int64_t{0});
    e.period = j.value("period", std::int64_t{0});
    e.renewable = j.value("renewable", false);
    e.last_renewal_time = j.value("last_renewal_time", std::int64_t{0});
    e.role = j.value("role", "");
    e.bound_cidrs = j.value("bound_cidrs", std::vector<std::string>{});
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return e;
}

std::int64_t token_store::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
}

std::string token_store::new_salt() {
  const auto raw = random_bytes(32);
  return std::string(raw.begin(), raw.end());
}

result<secret> token_store::salt() const {
  std::lock_guard lock(mu_);
  if (salt_) return *salt_;
  auto stored = store_.get(salt_key);
  if (!stored) return std::move(stored).err();
  if (!stored->has_value() || (*stored)->empty()) {
    // Never made up here: every stored token and secret ID is an HMAC with the salt that is gone.
    return make_error(errc::integrity_failure, "the token salt (auth/token/salt) is missing from storage");
  }
  salt_ = secret(std::move(**stored));
  return *salt_;
}

bool token_store::is_hashed(std::string_view name) {
  return name.size() == 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

result<std::string> token_store::accessor_key(std::string_view accessor) const {
  return hash("accessor:" + std::string(accessor));
}

result<std::optional<std::string>> token_store::rename_accessor(std::string_view name) const {
  if (is_hashed(name)) return std::optional<std::string>();
  auto k = accessor_key(name);
  if (!k) return std::move(k).err();
  return std::optional<std::string>(std::move(*k));
}

status token_store::salt_accessor_keys() {
  const storage::rename_fn salted = [this](std::string_view name) { return rename_accessor(name); };
  if (auto s = storage::rename_children(store_, accessor_prefix, salted); !s) return s;
  // The parent index: the parents' folders first, then the children inside each.
  if (auto s = storage::rename_children(store_, parent_prefix, salted); !s) return s;
  auto parents = store_.list(parent_prefix);
  if (!parents) return std::move(parents).err();
  for (const auto& p : *parents) {
    if (p.empty() || p.back() != '/') continue;
    if (auto s = storage::rename_children(store_, parent_prefix + p, salted); !s) return s;
  }
  return ok_v;
}

result<std::string> token_store::hash(std::string_view data) const {
  auto key = salt();
  if (!key) return std::move(key).err();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key->reveal().data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    return make_error(errc::internal, "HMAC failed");
  }
  return hex_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

result<std::optional<token_entry>> token_store::load(const std::string& hmac) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(hmac); it != cache_.end()) return std::optional(it->second);
  }
  auto raw = store_.get(id_prefix + hmac);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<token_entry>();
  auto e = token_entry_from_json(**raw);
  if (!e) return make_error(errc::internal, "stored token entry is damaged");
  std::lock_guard lock(mu_);
  if (cache_.size() >= cache_limit) cache_.clear();
  cache_.emplace(hmac, *e);
  return e;
}

result<std::optional<std::string>> token_store::hmac_of_accessor(const std::string& accessor) const {
  if (accessor.empty() || accessor.find('/') != std::string::npos) return std::optional<std::string>();
  auto k = accessor_key(accessor);
  if (!k) return std::move(k).err();
  return store_.get(accessor_prefix + *k);
}

status token_store::save(const std::string& hmac, const token_entry& e, bool fresh) {
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put(id_prefix + hmac, to_json(e)));
  if (fresh) {
    auto own = accessor_key(e.accessor);
    if (!own) return std::move(own).err();
    ops.push_back(storage::operation::put(accessor_prefix + *own, hmac));
    if (!e.parent.empty()) {
      auto parent = accessor_key(e.parent);
      if (!parent) return std::move(parent).err();
      ops.push_back(storage::operation::put(parent_prefix + *parent + "/" + *own, ""));
    }
  }
  {
    std::lock_guard lock(mu_);
    cache_.erase(hmac);
  }
  auto s = store_.apply(std::move(ops));
  std::lock_guard lock(mu_);
  cache_.erase(hmac);
  return s;
}

result<secret> token_store::create_root(std::optional<std::string> id) {
  {
    // Initialisation of a new store (sys/init, dev mode) is the one place a salt is made, and only
    // when the store has none yet (the seal manager's start-up checks refuse a store that lost it).
    std::lock_guard lock(mu_);
    auto stored = store_.get(salt_key);
    if (!stored) return std::move(stored).err();
    if (!stored->has_value()) {
      if (auto s = store_.put(salt_key, new_salt()); !s) return std::move(s).err();
    }
  }
  secret token = id && !id->empty() ? secret(*id) : random_token();
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  token_entry e;
  e.accessor = random_alnum(24);
  e.policies = {"root"};
  e.display_name = "root";
  e.path = "auth/token/root";
  e.mount = "token/";
  e.creation_time = now_seconds();
  if (auto s = save(*h, e, true); !s) return std::move(s).err();
  return token;
}

result<std::vector<std::string>> token_store::resolve_policies(const identity* parent, bool privileged,
                                                              const token_request& r) const {
  // Vault's resolveTokenPolicies (without token roles).
  const std::vector<std::string> requested = r.policies ? *r.policies : std::vector<std::string>{};
  std::vector<std::string> policies;
  bool add_default = false;
  if (parent == nullptr) {
    // An auth method's login: the method decided the policies.
    policies = sanitize_policies(requested, false);
    add_default = !r.no_default_policy;
  } else if (r.role_decided_policies) {
    policies = sanitize_policies(requested, false);  // default is in them when the role added it
  } else if (sanitize_policies(requested, false).empty()) {
    // Inherited: "default" only if the parent has it.
    policies = sanitize_policies(parent->policies, false);
  } else if (!privileged) {
    const auto parents = without_default(sanitize_policies(parent->policies, false));
    for (const auto& p : without_default(sanitize_policies(requested, false))) {
      if (!contains(parents, p)) return bad("child policies must be subset of parent");
    }
    policies = sanitize_policies(requested, false);
    add_default = !r.no_default_policy && contains(parent->policies, "default");
  } else {
    policies = sanitize_policies(requested, false);
    add_default = !r.no_default_policy;
  }
  policies = sanitize_policies(policies, add_default);
  if (r.no_default_policy) policies = without_default(std::move(policies));
  if (contains(policies, "root") && (parent == nullptr || !parent->is_root())) {
    return bad("root tokens may not be created without parent token being root");
  }
  if (policies.empty()) return bad("token must have at least one policy");
  return policies;
}

result<std::int64_t> token_store::initial_ttl(const token_request& r, bool is_root, issued_token& out) const {
  // Vault's framework.CalculateTTL at creation: the effective max is the server's max_lease_ttl,
  // lowered by explicit_max_ttl; a period is capped at it; otherwise the TTL is, counted from now.
  const std::int64_t sys_max = limits_.max_ttl.count();
  std::int64_t max_ttl = sys_max;
  if (r.explicit_max_ttl.count() > 0 && r.explicit_max_ttl.count() < max_ttl) max_ttl = r.explicit_max_ttl.count();
  std::int64_t ttl = r.ttl.count();
  if (r.period.count() > 0) {
    ttl = r.period.count();
    if (ttl > max_ttl) {
      out.warnings.push_back("period of \"" + human_duration(r.period) + "\" exceeded the effective max_ttl of \"" +
                             human_duration(std::chrono::seconds(max_ttl)) + "\"; period value is capped accordingly");
      ttl = max_ttl;
    }
    return ttl;
  }
  if (ttl == 0 && is_root) return r.explicit_max_ttl.count() > 0 ? max_ttl : 0;  // root: no expiry unless asked
  if (ttl == 0) ttl = limits_.default_ttl.count();
  if (ttl > max_ttl) {
    out.warnings.push_back("TTL of \"" + human_duration(std::chrono::seconds(ttl)) + "\" exceeded the effective max_ttl of \"" +
                           human_duration(std::chrono::seconds(max_ttl)) + "\"; TTL value is capped accordingly");
    ttl = max_ttl;
  }
  return ttl;
}

result<issued_token> token_store::create(const identity* parent, bool privileged, token_request r) {
  privileged = privileged || (parent != nullptr && parent->is_root());
  if (parent != nullptr && parent->limited_uses) return bad("restricted use token cannot generate child tokens");
  if (r.num_uses < 0) return bad("number of uses cannot be negative");
  if (r.ttl.count() < 0 || r.explicit_max_ttl.count() < 0 || r.period.count() < 0) {
    return bad("ttl, explicit_max_ttl and period cannot be negative");
  }
  if (r.id && !r.id->empty() && !privileged) return bad("root or sudo privileges required to specify token id");
  if (r.id && r.id->find_first_of(" \t\r\n") != std::string::npos) return bad("token id cannot contain whitespace");
  if (r.id && r.id->find('.') != std::string::npos) return bad("token IDs can not contain periods");

  auto resolved = resolve_policies(parent, privileged, r);
  if (!resolved) return std::move(resolved).err();
  const std::vector<std::string> policies = std::move(*resolved);
  const bool is_root = contains(policies, "root");

  const bool orphan = r.no_parent || parent == nullptr;
  if (r.no_parent && parent != nullptr && !privileged && !r.orphan_allowed) {
    return bad("root or sudo privileges required to create orphan token");
  }
  // A periodic token renews forever: only root or sudo may mint one (auth methods' roles decide
  // for their logins, which pass privileged).
  if (r.period.count() > 0 && !privileged) return bad("root or sudo privileges required to create periodic token");
  std::vector<std::string> role_warnings;
  if (r.role_explicit_max_ttl.count() > 0) {
    if (r.explicit_max_ttl.count() == 0) {
      r.explicit_max_ttl = r.role_explicit_max_ttl;
    } else {
      r.explicit_max_ttl = std::min(r.explicit_max_ttl, r.role_explicit_max_ttl);
      role_warnings.push_back("Explicit max TTL specified both during creation call and in role; using the lesser value of " +
                              std::to_string(r.explicit_max_ttl.count()) + " seconds");
    }
  }
  if (r.role_period.count() > 0) {
    if (r.period.count() == 0) {
      r.period = r.role_period;
    } else {
      r.period = std::min(r.period, r.role_period);
      role_warnings.push_back("Period specified both during creation call and in role; using the lesser value of " +
                              std::to_string(r.period.count()) + " seconds");
    }
  }

  issued_token out;
  out.warnings = std::move(role_warnings);
  auto computed = initial_ttl(r, is_root, out);
  if (!computed) return std::move(computed).err();
  const std::int64_t ttl = *computed;
  if (ttl == 0 && parent != nullptr && parent->expires) {
    return bad("expiring root tokens cannot create non-expiring root tokens");
  }
  std::int64_t explicit_max = r.explicit_max_ttl.count();
  if (explicit_max > limits_.max_ttl.count()) {
    out.warnings.push_back("explicit_max_ttl of \"" + human_duration(r.explicit_max_ttl) +
                           "\" exceeded the effective max_ttl of \"" + human_duration(limits_.max_ttl) +
                           "\"; explicit_max_ttl value is capped accordingly");
    explicit_max = limits_.max_ttl.count();
  }
  std::int64_t period = r.period.count();
  if (period > 0) period = ttl;  // capped above

  secret token = r.id && !r.id->empty() ? secret(*r.id) : random_token();
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  if (r.id && !r.id->empty()) {
    auto existing = load(*h);
    if (!existing) return std::move(existing).err();
    if (existing->has_value()) return bad("cannot create a token with a duplicate ID");
  }

  token_entry& e = out.entry;
  e.accessor = random_alnum(24);
  e.policies = policies;
  e.parent = orphan ? "" : parent->accessor;
  e.orphan = orphan;
  e.path = r.path;
  e.mount = r.mount;
  e.meta = r.meta;
  e.display_name = r.mount == "token/" ? (r.display_name.empty() ? "token" : "token-" + sanitise_display_name(r.display_name))
                                       : (r.display_name.empty() ? r.mount.substr(0, r.mount.size() - 1) : r.display_name);
  e.num_uses = r.num_uses;
  e.creation_time = now_seconds();
  e.creation_ttl = ttl;
  e.expire_time = ttl > 0 ? e.creation_time + ttl : 0;
  e.explicit_max_ttl = explicit_max;
  e.period = period;
  e.renewable = ttl > 0 && r.renewable;
  e.role = r.role;
  e.bound_cidrs = r.bound_cidrs;
  if (auto s = save(*h, e, true); !s) return std::move(s).err();
  out.token = std::move(token);
  out.ttl = ttl;
  return out;
}

bool token_store::alive(const token_entry& e, std::int64_t now, int depth) const {
  if (e.expire_time != 0 && now >= e.expire_time) return false;
  if (e.parent.empty()) return true;
  if (depth >= max_ancestry) return false;
  auto ph = hmac_of_accessor(e.parent);
  if (!ph || !ph->has_value()) return false;
  auto pe = load(**ph);
  if (!pe || !pe->has_value()) return false;
  return alive(**pe, now, depth + 1);
}

std::optional<identity> token_store::authenticate(const secret& token) { return authenticate_from(token, "").caller; }

presented_token token_store::authenticate_from(const secret& token, std::string_view client_address) {
  presented_token p = check_from(token, client_address);
  if (p.caller && p.caller->limited_uses && !spend_use(token)) return {};
  return p;
}

presented_token token_store::check_from(const secret& token, std::string_view client_address) {
  if (token.empty()) return {};
  auto h = hash(token.reveal());
  if (!h) return {};
  auto e = load(*h);
  if (!e || !e->has_value()) return {};
  token_entry entry = std::move(**e);
  if (!alive(entry, now_seconds(), 0)) {
    (void)revoke_tree(*h, false);
    return {};
  }
  if (!entry.bound_cidrs.empty() && !address_in_cidrs(client_address, entry.bound_cidrs)) {
    return {std::nullopt, true};
  }
  identity id;
  id.meta = entry.meta;
  id.ttl = entry.creation_ttl;
  id.issue_time = entry.creation_time;
  id.policies = entry.policies;
  id.display_name = entry.display_name;
  id.accessor = entry.accessor;
  id.limited_uses = entry.num_uses > 0;
  id.expires = entry.expire_time != 0;
  return {std::move(id), false};
}

bool token_store::spend_use(const secret& token) {
  auto h = hash(token.reveal());
  if (!h) return false;
  auto e = load(*h);
  if (!e || !e->has_value()) return false;  // revoked meanwhile (its last use was spent)
  token_entry entry = std::move(**e);
  if (!alive(entry, now_seconds(), 0)) return false;
  if (entry.num_uses == 0) return true;
  if (entry.num_uses == 1) return revoke_tree(*h, false).ok();  // the last use: the token goes now
  --entry.num_uses;
  return save(*h, entry, false).ok();
}

result<token_entry> token_store::lookup(const secret& token) {
  if (token.empty()) return bad("bad token");
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  auto e = load(*h);
  if (!e) return std::move(e).err();
  if (!e->has_value() || !alive(**e, now_seconds(), 0)) return bad("bad token");
  return std::move(**e);
}

result<token_entry> token_store::lookup_accessor(const std::string& accessor) {
  auto h = hmac_of_accessor(accessor);
  if (!h) return std::move(h).err();
  if (!h->has_value()) return bad("invalid accessor");
  auto e = load(**h);
  if (!e) return std::move(e).err();
  if (!e->has_value() || !alive(**e, now_seconds(), 0)) return bad("invalid accessor");
  return std::move(**e);
}

result<issued_token> token_store::renew_hmac(const std::string& hmac, std::chrono::seconds increment) {
  if (increment.count() < 0) return bad("increment cannot be negative");
  auto loaded = load(hmac);
  if (!loaded) return std::move(loaded).err();
  const std::int64_t now = now_seconds();
  if (!loaded->has_value() || !alive(**loaded, now, 0)) return bad("invalid lease ID");
  token_entry e = std::move(**loaded);
  if (!e.renewable || e.expire_time == 0) return bad("lease is not renewable");
  // Vault's CalculateTTL at renewal, with today's max_lease_ttl: a period is capped at the effective
  // max and bounded only by explicit_max_ttl; otherwise the TTL may not pass creation + max.
  issued_token out;
  std::int64_t max_ttl = limits_.max_ttl.count();
  if (e.explicit_max_ttl > 0 && e.explicit_max_ttl < max_ttl) max_ttl = e.explicit_max_ttl;
  std::int64_t ttl = 0;
  std::optional<std::int64_t> max_expire;
  if (e.period > 0) {
    ttl = e.period;
    if (ttl > max_ttl) {
      out.warnings.push_back("period of \"" + human_duration(std::chrono::seconds(ttl)) +
                             "\" exceeded the effective max_ttl of \"" + human_duration(std::chrono::seconds(max_ttl)) +
                             "\"; period value is capped accordingly");
      ttl = max_ttl;
    }
    if (e.explicit_max_ttl > 0) max_expire = e.creation_time + e.explicit_max_ttl;
  } else {
    ttl = increment.count() > 0 ? increment.count() : e.creation_ttl > 0 ? e.creation_ttl : limits_.default_ttl.count();
    max_expire = e.creation_time + max_ttl;
  }
  if (max_expire) {
    const std::int64_t left = *max_expire - now;
    if (left <= 0) return bad("past the max TTL, cannot renew");
    if (ttl > left) {
      out.warnings.push_back("TTL of \"" + human_duration(std::chrono::seconds(ttl)) + "\" exceeded the effective max_ttl of \"" +
                             human_duration(std::chrono::seconds(left)) + "\"; TTL value is capped accordingly");
      ttl = left;
    }
  }
  e.expire_time = now + ttl;
  e.last_renewal_time = now;
  if (auto s = save(hmac, e, false); !s) return std::move(s).err();
  out.entry = std::move(e);
  out.ttl = ttl;
  return out;
}

result<issued_token> token_store::renew(const secret& token, std::chrono::seconds increment) {
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  auto r = renew_hmac(*h, increment);
  if (r) r->token = token;
  return r;
}

result<issued_token> token_store::renew_accessor(const std::string& accessor, std::chrono::seconds increment) {
  auto h = hmac_of_accessor(accessor);
  if (!h) return std::move(h).err();
  if (!h->has_value()) return bad("invalid accessor");
  return renew_hmac(**h, increment);
}

status token_store::revoke_tree(const std::string& root_hmac, bool orphan_children) {
  // Depth-first, children before parents, so a crash half-way leaves only tokens whose parents
  // still exist (or which authenticate() finds orphaned by accident and revokes).
  struct frame {
    std::string hmac;
    bool expanded = false;
  };
  std::vector<frame> stack{{root_hmac, orphan_children}};
  int guard = 0;
  while (!stack.empty()) {
    if (++guard > 1'000'000) return make_error(errc::internal, "token tree too large to revoke");
    frame& top = stack.back();
    auto loaded = load(top.hmac);
    if (!loaded) return std::move(loaded).err();
    if (!loaded->has_value()) {
      stack.pop_back();
      continue;
    }
    const token_entry e = **loaded;
    auto own_key = accessor_key(e.accessor);
    if (!own_key) return std::move(own_key).err();
    const std::string children_prefix = parent_prefix + *own_key + "/";
    if (!top.expanded) {
      top.expanded = true;
      auto kids = store_.list(children_prefix);
      if (!kids) return std::move(kids).err();
      std::vector<frame> more;
      for (const auto& kid : *kids) {
        auto kh = store_.get(accessor_prefix + kid);  // kid: the child's accessor_key
        if (!kh) return std::move(kh).err();
        if (kh->has_value()) {
          more.push_back({**kh, false});
        } else {
          (void)store_.remove(children_prefix + kid);
        }
      }
      for (auto& m : more) stack.push_back(std::move(m));
      continue;
    }
    std::string hmac = top.hmac;
    stack.pop_back();
    if (orphan_children && hmac == root_hmac) {
      // revoke-orphan: the children lose their parent and become orphans.
      auto kids = store_.list(children_prefix);
      if (!kids) return std::move(kids).err();
      for (const auto& kid : *kids) {
        auto kh = store_.get(accessor_prefix + kid);
        if (!kh) return std::move(kh).err();
        if (!kh->has_value()) continue;
        auto ke = load(**kh);
        if (!ke) return std::move(ke).err();
        if (!ke->has_value()) continue;
        token_entry child = **ke;
        child.parent.clear();
        child.orphan = true;
        if (auto s = save(**kh, child, false); !s) return s;
        (void)store_.remove(children_prefix + kid);
      }
    }
    std::vector<std::function<void(const std::string&)>> listeners;
    {
      std::lock_guard lock(mu_);
      listeners = revoke_listeners_;
    }
    for (const auto& f : listeners) f(e.accessor);
    std::vector<storage::operation> ops;
    ops.push_back(storage::operation::remove(id_prefix + hmac));
    ops.push_back(storage::operation::remove(accessor_prefix + *own_key));
    if (!e.parent.empty()) {
      auto parent_key = accessor_key(e.parent);
      if (!parent_key) return std::move(parent_key).err();
      ops.push_back(storage::operation::remove(parent_prefix + *parent_key + "/" + *own_key));
    }
    {
      std::lock_guard lock(mu_);
      cache_.erase(hmac);
    }
    if (auto s = store_.apply(std::move(ops)); !s) return s;
    std::lock_guard lock(mu_);
    cache_.erase(hmac);
  }
  return ok_v;
}

status token_store::revoke(const secret& token) {
  if (token.empty()) return ok_v;
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  return revoke_tree(*h, false);
}

status token_store::revoke_accessor(const std::string& accessor) {
  auto h = hmac_of_accessor(accessor);
  if (!h) return std::move(h).err();
  if (!h->has_value()) return ok_v;
  return revoke_tree(**h, false);
}

status token_store::revoke_orphan(const secret& token) {
  if (token.empty()) return ok_v;
  auto h = hash(token.reveal());
  if (!h) return std::move(h).err();
  return revoke_tree(*h, true);
}

status token_store::revoke_mount(const std::string& mount) {
  std::vector<std::string> victims;
  auto s = store_.scan(id_prefix, [&](const std::string& key, std::string_view value) {
    auto e = token_entry_from_json(value);
    if (e && e->mount == mount) victims.push_back(key.substr(std::char_traits<char>::length(id_prefix)));
    return true;
  });
  if (!s) return s;
  for (const auto& v : victims) {
    if (auto r = revoke_tree(v, false); !r) return r;
  }
  return ok_v;
}

result<std::vector<std::string>> token_store::list_accessors() {
  // The accessor index holds only hashes; the entries hold the accessors.
  std::vector<std::string> out;
  auto s = store_.scan(id_prefix, [&](const std::string&, std::string_view value) {
    if (auto e = token_entry_from_json(value); e && !e->accessor.empty()) out.push_back(e->accessor);
    return true;
  });
  if (!s) return std::move(s).err();
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t token_store::tidy() {
  const std::int64_t now = now_seconds();
  std::vector<std::string> victims;
  (void)store_.scan(id_prefix, [&](const std::string& key, std::string_view value) {
    auto e = token_entry_from_json(value);
    if (e && e->expire_time != 0 && now >= e->expire_time) {
      victims.push_back(key.substr(std::char_traits<char>::length(id_prefix)));
    }
    return true;
  });
  std::size_t n = 0;
  for (const auto& v : victims) {
    if (revoke_tree(v, false)) ++n;
  }
  if (n > 0) spdlog::info("token tidy revoked {} expired token(s)", n);
  return n;
}

void token_store::on_revoke(std::function<void(const std::string& accessor)> f) {
  std::lock_guard lock(mu_);
  revoke_listeners_.push_back(std::move(f));
}

void token_store::clear_cache() {
  std::lock_guard lock(mu_);
  salt_.reset();
  cache_.clear();
}

}  // namespace credbroker::auth
