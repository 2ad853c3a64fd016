#include "broker/auth/token_store.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "broker/core/duration.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::auth {
namespace {

constexpr const char* id_prefix = "auth/token/id/";
constexpr const char* accessor_prefix = "auth/token/accessor/";
constexpr const char* parent_prefix = "auth/token/parent/";
constexpr std::size_t cache_limit = 1 << 16;
constexpr int max_ancestry = 64;

error bad(std::string m) { return make_error(errc::invalid_request, std::move(m)); }

std::vector<std::string> clean_policies(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (auto p : in) {
    const auto b = p.find_first_not_of(" \t");
    const auto e = p.find_last_not_of(" \t");
    p = b == std::string::npos ? "" : p.substr(b, e - b + 1);
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!p.empty()) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
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
                        {"role", e.role}}
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
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return e;
}

std::int64_t token_store::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
}

result<secret> token_store::salt() const {
  std::lock_guard lock(mu_);
  if (salt_) return *salt_;
  auto stored = store_.get("auth/token/salt");
  if (!stored) return std::move(stored).err();
  if (stored->has_value()) {
    salt_ = secret(std::move(**stored));
    return *salt_;
  }
  const auto raw = random_bytes(32);
  secret fresh(std::string(raw.begin(), raw.end()));
  if (auto s = store_.put("auth/token/salt", fresh.reveal()); !s) return std::move(s).err();
  salt_ = fresh;
  return fresh;
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
  return store_.get(accessor_prefix + accessor);
}

status token_store::save(const std::string& hmac, const token_entry& e, bool fresh) {
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put(id_prefix + hmac, to_json(e)));
  if (fresh) {
    ops.push_back(storage::operation::put(accessor_prefix + e.accessor, hmac));
    if (!e.parent.empty()) ops.push_back(storage::operation::put(parent_prefix + e.parent + "/" + e.accessor, ""));
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

result<issued_token> token_store::create(const identity* parent, bool privileged, token_request r) {
  const bool parent_root = parent != nullptr && parent->is_root();
  privileged = privileged || parent_root;
  if (r.num_uses < 0) return bad("number of uses cannot be negative");
  if (r.ttl.count() < 0 || r.explicit_max_ttl.count() < 0 || r.period.count() < 0) {
    return bad("ttl, explicit_max_ttl and period cannot be negative");
  }
  if (r.id && !r.id->empty() && !privileged) return bad("root or sudo privileges required to specify token id");
  if (r.id && r.id->find_first_of(" \t\r\n") != std::string::npos) return bad("token id cannot contain whitespace");
  if (r.id && r.id->find('.') != std::string::npos) return bad("token IDs can not contain periods");
  const bool orphan = r.no_parent || parent == nullptr;
  if (r.no_parent && parent != nullptr && !privileged && !r.orphan_allowed) {
    return bad("root or sudo privileges required to create orphan token");
  }

  std::vector<std::string> policies =
      clean_policies(r.policies ? *r.policies : (parent ? parent->policies : std::vector<std::string>{}));
  if (!r.policies && parent != nullptr && parent->is_root()) policies = {"root"};
  if (parent != nullptr && !privileged) {
    for (const auto& p : policies) {
      if (p != "default" && !contains(parent->policies, p)) return bad("child policies must be subset of parent");
    }
  }
  if (contains(policies, "root") && !parent_root) {
    return bad("root tokens may not be created without parent token being root");
  }
  std::erase(policies, std::string("default"));
  const bool is_root = contains(policies, "root");
  if (!r.no_default_policy && !is_root) policies.push_back("default");
  std::sort(policies.begin(), policies.end());
  if (policies.empty()) return bad("token must have at least one policy");

  issued_token out;
  std::int64_t ttl = r.ttl.count();
  const std::int64_t sys_max = limits_.max_ttl.count();
  if (r.period.count() > 0) {
    ttl = r.period.count();
  } else if (ttl == 0 && r.explicit_max_ttl.count() > 0) {
    ttl = r.explicit_max_ttl.count();
  } else if (ttl == 0 && !is_root) {
    ttl = limits_.default_ttl.count();
  }
  if (r.explicit_max_ttl.count() > 0 && ttl > r.explicit_max_ttl.count()) {
    out.warnings.push_back("Explicit max TTL of " + format_go_duration(r.explicit_max_ttl) +
                           " is less than the requested TTL; TTL value is capped accordingly");
    ttl = r.explicit_max_ttl.count();
  }
  if (ttl > sys_max && r.period.count() == 0) {
    out.warnings.push_back("TTL of \"" + format_go_duration(std::chrono::seconds(ttl)) +
                           "\" exceeded the effective max_ttl of \"" + format_go_duration(limits_.max_ttl) +
                           "\"; TTL value is capped accordingly");
    ttl = sys_max;
  }

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
  e.explicit_max_ttl = r.explicit_max_ttl.count();
  e.period = r.period.count();
  e.renewable = ttl > 0 && r.renewable;
  e.role = r.role;
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

std::optional<identity> token_store::authenticate(const secret& token) {
  if (token.empty()) return std::nullopt;
  auto h = hash(token.reveal());
  if (!h) return std::nullopt;
  auto e = load(*h);
  if (!e || !e->has_value()) return std::nullopt;
  token_entry entry = std::move(**e);
  if (!alive(entry, now_seconds(), 0)) {
    (void)revoke_tree(*h, false);
    return std::nullopt;
  }
  if (entry.num_uses > 0) {
    if (entry.num_uses == 1) {
      // The last use: the token goes now; this request still runs with it.
      if (auto s = revoke_tree(*h, false); !s) return std::nullopt;
    } else {
      token_entry spent = entry;
      --spent.num_uses;
      if (auto s = save(*h, spent, false); !s) return std::nullopt;
    }
  }
  identity id;
  id.meta = entry.meta;
  id.ttl = entry.creation_ttl;
  id.issue_time = entry.creation_time;
  id.policies = entry.policies;
  id.display_name = entry.display_name;
  id.accessor = entry.accessor;
  return id;
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
  issued_token out;
  std::int64_t ttl = e.period > 0 ? e.period : (increment.count() > 0 ? increment.count() : e.creation_ttl);
  std::int64_t max_expire = e.creation_time + limits_.max_ttl.count();
  if (e.period > 0) max_expire = now + e.period;  // periodic tokens live as long as they are renewed
  if (e.explicit_max_ttl > 0) max_expire = std::min(max_expire, e.creation_time + e.explicit_max_ttl);
  if (now + ttl > max_expire) {
    const std::int64_t capped = std::max<std::int64_t>(0, max_expire - now);
    out.warnings.push_back("TTL of \"" + format_go_duration(std::chrono::seconds(ttl)) +
                           "\" exceeded the effective max_ttl of \"" + format_go_duration(std::chrono::seconds(capped)) +
                           "\"; TTL value is capped accordingly");
    ttl = capped;
  }
  if (ttl <= 0) return bad("past the max TTL, cannot renew");
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
    const std::string children_prefix = parent_prefix + e.accessor + "/";
    if (!top.expanded) {
      top.expanded = true;
      auto kids = store_.list(children_prefix);
      if (!kids) return std::move(kids).err();
      std::vector<frame> more;
      for (const auto& kid : *kids) {
        auto kh = hmac_of_accessor(kid);
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
        auto kh = hmac_of_accessor(kid);
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
    ops.push_back(storage::operation::remove(accessor_prefix + e.accessor));
    if (!e.parent.empty()) ops.push_back(storage::operation::remove(parent_prefix + e.parent + "/" + e.accessor));
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

result<std::vector<std::string>> token_store::list_accessors() { return store_.list(accessor_prefix); }

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
