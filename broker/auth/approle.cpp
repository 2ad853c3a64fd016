#include "broker/auth/approle.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "broker/core/cidr.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/rename.hpp"

namespace credbroker::auth {
namespace {

error bad(std::string m) { return make_error(errc::invalid_request, std::move(m)); }

const std::string invalid_login = "invalid role or secret ID";

result<std::string> accessor_hash(const token_store& tokens, std::string_view accessor) {
  return tokens.hash("secret-id-accessor:" + std::string(accessor));
}

std::string info_json(const secret_id_info& i) {
  return nlohmann::json{{"accessor", i.accessor},     {"creation_time", i.creation_time},
                        {"expiration_time", i.expiration_time}, {"last_updated_time", i.last_updated_time},
                        {"num_uses", i.num_uses},     {"ttl", i.ttl},
                        {"metadata", i.metadata},     {"cidr_list", i.cidr_list},
                        {"token_bound_cidrs", i.token_bound_cidrs}}
      .dump();
}

// Validated and normalised ("10.1.2.3/8" stays as written, as Vault keeps it; blanks dropped).
result<std::vector<std::string>> checked_cidrs(const std::vector<std::string>& in, bool allow_bare_address) {
  auto parsed = parse_cidr_list(in, allow_bare_address);
  if (!parsed) return bad("failed to validate CIDR blocks: " + parsed.err().message);
  std::vector<std::string> out;
  for (const auto& c : in) {
    std::string t = c;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(t.begin());
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// The address check of a login: empty bindings allow every address.
bool allowed_from(std::string_view client_address, const std::vector<std::string>& cidrs) {
  return cidrs.empty() || address_in_cidrs(client_address, cidrs);
}

std::optional<secret_id_info> info_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    secret_id_info i;
    i.accessor = j.value("accessor", "");
    i.creation_time = j.value("creation_time", std::int64_t{0});
    i.expiration_time = j.value("expiration_time", std::int64_t{0});
    i.last_updated_time = j.value("last_updated_time", std::int64_t{0});
    i.num_uses = j.value("num_uses", std::int64_t{0});
    i.ttl = j.value("ttl", std::int64_t{0});
    i.metadata = j.value("metadata", std::map<std::string, std::string>{});
    i.cidr_list = j.value("cidr_list", std::vector<std::string>{});
    i.token_bound_cidrs = j.value("token_bound_cidrs", std::vector<std::string>{});
    return i;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string to_json(const approle_role& r) {
  return nlohmann::json{{"name", r.name},
                        {"role_id", r.role_id},
                        {"bind_secret_id", r.bind_secret_id},
                        {"secret_id_bound_cidrs", r.secret_id_bound_cidrs},
                        {"token_bound_cidrs", r.token_bound_cidrs},
                        {"secret_id_num_uses", r.secret_id_num_uses},
                        {"secret_id_ttl", r.secret_id_ttl},
                        {"token_policies", r.token_policies},
                        {"token_ttl", r.token_ttl},
                        {"token_max_ttl", r.token_max_ttl},
                        {"token_explicit_max_ttl", r.token_explicit_max_ttl},
                        {"token_num_uses", r.token_num_uses},
                        {"token_period", r.token_period},
                        {"token_no_default_policy", r.token_no_default_policy},
                        {"token_type", r.token_type}}
      .dump();
}

std::optional<approle_role> approle_role_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    approle_role r;
    r.name = j.value("name", "");
    r.role_id = j.value("role_id", "");
    r.bind_secret_id = j.value("bind_secret_id", true);
    r.secret_id_bound_cidrs = j.value("secret_id_bound_cidrs", std::vector<std::string>{});
    r.token_bound_cidrs = j.value("token_bound_cidrs", std::vector<std::string>{});
    r.secret_id_num_uses = j.value("secret_id_num_uses", std::int64_t{0});
    r.secret_id_ttl = j.value("secret_id_ttl", std::int64_t{0});
    r.token_policies = j.value("token_policies", std::vector<std::string>{});
    r.token_ttl = j.value("token_ttl", std::int64_t{0});
    r.token_max_ttl = j.value("token_max_ttl", std::int64_t{0});
    r.token_explicit_max_ttl = j.value("token_explicit_max_ttl", std::int64_t{0});
    r.token_num_uses = j.value("token_num_uses", std::int64_t{0});
    r.token_period = j.value("token_period", std::int64_t{0});
    r.token_no_default_policy = j.value("token_no_default_policy", false);
    r.token_type = j.value("token_type", "default");
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

result<std::string> approle_backend::accessor_path(const std::string& accessor) const {
  auto h = accessor_hash(tokens_, accessor);
  if (!h) return std::move(h).err();
  return prefix_ + "accessor/" + *h;
}

status approle_backend::salt_accessor_keys(storage::physical& store, const token_store& tokens,
                                           const std::string& mounts_prefix) {
  const storage::rename_fn salted = [&tokens](std::string_view name) -> result<std::optional<std::string>> {
    if (token_store::is_hashed(name)) return std::optional<std::string>();
    auto h = accessor_hash(tokens, name);
    if (!h) return std::move(h).err();
    return std::optional<std::string>(std::move(*h));
  };
  auto mounts = store.list(mounts_prefix);
  if (!mounts) return std::move(mounts).err();
  for (const auto& m : *mounts) {
    if (m.empty() || m.back() != '/') continue;
    if (auto s = storage::rename_children(store, mounts_prefix + m + "accessor/", salted); !s) return s;
  }
  return ok_v;
}

std::int64_t approle_backend::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
}

result<std::optional<approle_role>> approle_backend::read_role(const std::string& name) {
  auto raw = store_.get(prefix_ + "role/" + name);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<approle_role>();
  auto r = approle_role_from_json(**raw);
  if (!r) return make_error(errc::internal, "stored role \"" + name + "\" is damaged");
  return r;
}

status approle_backend::write_role(approle_role role) {
  if (role.secret_id_num_uses < 0) return bad("secret_id_num_uses cannot be negative");
  if (role.token_num_uses < 0) return bad("token_num_uses cannot be negative");
  if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl) {
    return bad("\"token_ttl\" value must be less than \"token_max_ttl\" value");
  }
  if (!role.bind_secret_id && role.secret_id_bound_cidrs.empty() && role.token_bound_cidrs.empty()) {
    return bad("at least one constraint should be enabled on the role");
  }
  if (role.token_type != "default" && role.token_type != "service") {
    return bad("token_type must be \"default\" or \"service\" (batch tokens are not supported)");
  }
  auto bound = checked_cidrs(role.secret_id_bound_cidrs, false);
  if (!bound) return std::move(bound).err();
  role.secret_id_bound_cidrs = std::move(*bound);
  auto token_bound = checked_cidrs(role.token_bound_cidrs, true);
  if (!token_bound) return std::move(token_bound).err();
  role.token_bound_cidrs = std::move(*token_bound);
  auto existing = read_role(role.name);
  if (!existing) return std::move(existing).err();
  std::vector<storage::operation> ops;
  if (existing->has_value()) {
    if (role.role_id.empty()) role.role_id = (*existing)->role_id;
  }
  if (role.role_id.empty()) role.role_id = random_uuid();
  auto h = tokens_.hash("role-id:" + role.role_id);
  if (!h) return std::move(h).err();
  if (existing->has_value() && (*existing)->role_id != role.role_id) {
    auto old = tokens_.hash("role-id:" + (*existing)->role_id);
    if (!old) return std::move(old).err();
    ops.push_back(storage::operation::remove(prefix_ + "role-id/" + *old));
  }
  auto owner = store_.get(prefix_ + "role-id/" + *h);
  if (!owner) return std::move(owner).err();
  if (owner->has_value() && **owner != role.name) return bad("role_id already in use");
  ops.push_back(storage::operation::put(prefix_ + "role/" + role.name, to_json(role)));
  ops.push_back(storage::operation::put(prefix_ + "role-id/" + *h, role.name));
  return store_.apply(std::move(ops));
}

status approle_backend::set_role_id(const std::string& name, const std::string& role_id) {
  if (role_id.empty()) return bad("missing role_id");
  auto r = read_role(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return bad("role \"" + name + "\" does not exist");
  approle_role role = **r;
  role.role_id = role_id;
  return write_role(std::move(role));
}

status approle_backend::delete_role(const std::string& name) {
  auto r = read_role(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return ok_v;
  auto accessors = list_secret_id_accessors(name);
  if (!accessors) return std::move(accessors).err();
  for (const auto& a : *accessors) {
    if (auto s = destroy_secret_id_accessor(name, a); !s) return s;
  }
  auto h = tokens_.hash("role-id:" + (*r)->role_id);
  if (!h) return std::move(h).err();
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(prefix_ + "role/" + name));
  ops.push_back(storage::operation::remove(prefix_ + "role-id/" + *h));
  return store_.apply(std::move(ops));
}

result<std::vector<std::string>> approle_backend::list_roles() { return store_.list(prefix_ + "role/"); }

result<issued_secret_id> approle_backend::create_secret_id(const std::string& name,
                                                           std::map<std::string, std::string> metadata,
                                                           std::optional<std::chrono::seconds> ttl,
                                                           std::optional<std::int64_t> num_uses,
                                                           std::optional<std::string> custom,
                                                           secret_id_bindings bindings) {
  auto r = read_role(name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return bad("role \"" + name + "\" does not exist");
  const approle_role& role = **r;
  if (!role.bind_secret_id) return bad("bind_secret_id is not set on the role");
  if (num_uses && *num_uses < 0) return bad("num_uses cannot be negative");
  if (ttl && ttl->count() < 0) return bad("ttl cannot be negative");
  if (custom && custom->empty()) return bad("missing secret_id");
  auto cidrs = checked_cidrs(bindings.cidr_list, false);
  if (!cidrs) return std::move(cidrs).err();
  if (!cidrs_subset(*cidrs, role.secret_id_bound_cidrs)) {
    return bad("failed to verify subset relationship between CIDR blocks on the role \"" + joined(role.secret_id_bound_cidrs) +
               "\" and CIDR blocks on the secret ID \"" + joined(*cidrs) + "\": CIDR blocks on the secret ID \"" +
               joined(*cidrs) + "\" should be a subset of CIDR blocks on the role \"" + joined(role.secret_id_bound_cidrs) + "\"");
  }
  auto token_cidrs = checked_cidrs(bindings.token_bound_cidrs, true);
  if (!token_cidrs) return std::move(token_cidrs).err();
  if (!cidrs_subset(*token_cidrs, role.token_bound_cidrs)) {
    return bad("failed to verify subset relationship between the token bound CIDR blocks on the role \"" +
               joined(role.token_bound_cidrs) + "\" and the token bound CIDR blocks on the secret ID \"" +
               joined(*token_cidrs) + "\": token bound CIDR blocks on the secret ID \"" + joined(*token_cidrs) +
               "\" should be a subset of the token bound CIDR blocks on the role \"" + joined(role.token_bound_cidrs) + "\"");
  }
  issued_secret_id out;
  out.secret_id = custom ? secret(*custom) : secret(random_uuid());
  auto h = tokens_.hash("secret-id:" + out.secret_id.reveal());
  if (!h) return std::move(h).err();
  if (custom) {
    auto existing = store_.get(prefix_ + "secret-id/" + name + "/" + *h);
    if (!existing) return std::move(existing).err();
    if (existing->has_value()) return bad("SecretID is already registered");
  }
  secret_id_info& i = out.info;
  i.accessor = random_uuid();
  i.creation_time = now_seconds();
  i.last_updated_time = i.creation_time;
  i.ttl = ttl && ttl->count() > 0 ? ttl->count() : role.secret_id_ttl;
  // A per-secret ttl can only shorten the role's.
  if (role.secret_id_ttl > 0 && i.ttl > role.secret_id_ttl) i.ttl = role.secret_id_ttl;
  i.expiration_time = i.ttl > 0 ? i.creation_time + i.ttl : 0;
  i.num_uses = num_uses && *num_uses > 0 ? *num_uses : role.secret_id_num_uses;
  if (role.secret_id_num_uses > 0 && (i.num_uses == 0 || i.num_uses > role.secret_id_num_uses)) {
    i.num_uses = role.secret_id_num_uses;
  }
  i.metadata = std::move(metadata);
  i.cidr_list = std::move(*cidrs);
  i.token_bound_cidrs = std::move(*token_cidrs);
  auto where = accessor_path(i.accessor);
  if (!where) return std::move(where).err();
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put(prefix_ + "secret-id/" + name + "/" + *h, info_json(i)));
  ops.push_back(storage::operation::put(*where, name + "/" + *h));
  if (auto s = store_.apply(std::move(ops)); !s) return std::move(s).err();
  return out;
}

result<std::optional<secret_id_info>> approle_backend::lookup_secret_id(const std::string& name,
                                                                        const secret& secret_id) {
  if (secret_id.empty()) return bad("missing secret_id");
  auto h = tokens_.hash("secret-id:" + secret_id.reveal());
  if (!h) return std::move(h).err();
  auto raw = store_.get(prefix_ + "secret-id/" + name + "/" + *h);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<secret_id_info>();
  auto i = info_from_json(**raw);
  if (!i || (i->expiration_time != 0 && now_seconds() >= i->expiration_time)) return std::optional<secret_id_info>();
  return i;
}

result<std::optional<secret_id_info>> approle_backend::lookup_secret_id_accessor(const std::string& name,
                                                                                 const std::string& accessor) {
  if (accessor.empty() || accessor.find('/') != std::string::npos) return bad("missing secret_id_accessor");
  auto path = accessor_path(accessor);
  if (!path) return std::move(path).err();
  auto where = store_.get(*path);
  if (!where) return std::move(where).err();
  if (!where->has_value() || (*where)->rfind(name + "/", 0) != 0) return std::optional<secret_id_info>();
  auto raw = store_.get(prefix_ + "secret-id/" + **where);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<secret_id_info>();
  return info_from_json(**raw);
}

status approle_backend::delete_secret(const std::string& name, const std::string& hmac, const std::string& accessor) {
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(prefix_ + "secret-id/" + name + "/" + hmac));
  if (!accessor.empty()) {
    auto path = accessor_path(accessor);
    if (!path) return std::move(path).err();
    ops.push_back(storage::operation::remove(*path));
  }
  return store_.apply(std::move(ops));
}

status approle_backend::destroy_secret_id(const std::string& name, const secret& secret_id) {
  if (secret_id.empty()) return bad("missing secret_id");
  auto h = tokens_.hash("secret-id:" + secret_id.reveal());
  if (!h) return std::move(h).err();
  auto raw = store_.get(prefix_ + "secret-id/" + name + "/" + *h);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return ok_v;
  auto i = info_from_json(**raw);
  return delete_secret(name, *h, i ? i->accessor : "");
}

status approle_backend::destroy_secret_id_accessor(const std::string& name, const std::string& accessor) {
  if (accessor.empty() || accessor.find('/') != std::string::npos) return bad("missing secret_id_accessor");
  auto path = accessor_path(accessor);
  if (!path) return std::move(path).err();
  auto where = store_.get(*path);
  if (!where) return std::move(where).err();
  if (!where->has_value() || (*where)->rfind(name + "/", 0) != 0) return ok_v;
  return delete_secret(name, (*where)->substr(name.size() + 1), accessor);
}

result<std::vector<std::string>> approle_backend::list_secret_id_accessors(const std::string& name) {
  std::vector<std::string> out;
  const std::string dir = prefix_ + "secret-id/" + name + "/";
  auto s = store_.scan(dir, [&](const std::string&, std::string_view value) {
    if (auto i = info_from_json(value)) out.push_back(i->accessor);
    return true;
  });
  if (!s) return std::move(s).err();
  return out;
}

result<issued_token> approle_backend::login(const std::string& role_id, const secret& secret_id,
                                            std::string_view client_address) {
  if (role_id.empty()) return bad("missing role_id");
  auto rh = tokens_.hash("role-id:" + role_id);
  if (!rh) return std::move(rh).err();
  auto name = store_.get(prefix_ + "role-id/" + *rh);
  if (!name) return std::move(name).err();
  if (!name->has_value()) return bad(invalid_login);
  auto r = read_role(**name);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return bad(invalid_login);
  const approle_role role = **r;
  std::map<std::string, std::string> meta{{"role_name", role.name}};
  const std::string from(client_address);
  std::vector<std::string> token_cidrs = role.token_bound_cidrs;
  if (role.bind_secret_id) {
    if (secret_id.empty()) return bad("missing secret_id");
    auto sh = tokens_.hash("secret-id:" + secret_id.reveal());
    if (!sh) return std::move(sh).err();
    const std::string key = prefix_ + "secret-id/" + role.name + "/" + *sh;
    std::lock_guard lock(login_mu_);
    auto raw = store_.get(key);
    if (!raw) return std::move(raw).err();
    if (!raw->has_value()) return bad(invalid_login);
    auto info = info_from_json(**raw);
    if (!info) return bad(invalid_login);
    const std::int64_t now = now_seconds();
    if (info->expiration_time != 0 && now >= info->expiration_time) {
      (void)delete_secret(role.name, *sh, info->accessor);
      return bad(invalid_login);
    }
    // Checked before the use is spent (Vault spends a counted use first): a refused address costs
    // the holder nothing.
    if (!cidrs_subset(info->cidr_list, role.secret_id_bound_cidrs)) return bad(invalid_login);
    if (!allowed_from(from, info->cidr_list)) {
      return bad("source address \"" + from + "\" unauthorized by CIDR restrictions on the secret ID");
    }
    if (!allowed_from(from, role.secret_id_bound_cidrs)) {
      return bad("source address \"" + from + "\" unauthorized by CIDR restrictions on the role");
    }
    if (!info->token_bound_cidrs.empty()) token_cidrs = info->token_bound_cidrs;
    if (info->num_uses == 1) {
      if (auto s = delete_secret(role.name, *sh, info->accessor); !s) return std::move(s).err();
    } else if (info->num_uses > 1) {
      --info->num_uses;
      info->last_updated_time = now;
      if (auto s = store_.put(key, info_json(*info)); !s) return std::move(s).err();
    }
    for (const auto& [k, v] : info->metadata) meta.emplace(k, v);
  } else if (!allowed_from(from, role.secret_id_bound_cidrs)) {
    return bad("source address \"" + from + "\" unauthorized by CIDR restrictions on the role");
  }
  token_request tr;
  tr.policies = role.token_policies;
  tr.no_default_policy = role.token_no_default_policy;
  tr.ttl = std::chrono::seconds(role.token_ttl);
  tr.explicit_max_ttl = std::chrono::seconds(role.token_explicit_max_ttl > 0 ? role.token_explicit_max_ttl : role.token_max_ttl);
  tr.period = std::chrono::seconds(role.token_period);
  tr.num_uses = role.token_num_uses;
  tr.meta = std::move(meta);
  tr.path = "auth/" + mount_ + "login";
  tr.mount = mount_;
  tr.display_name = mount_.substr(0, mount_.size() - 1);
  tr.role = role.name;
  tr.bound_cidrs = std::move(token_cidrs);
  return tokens_.create(nullptr, true, std::move(tr));
}

result<std::size_t> approle_backend::tidy_secret_ids() {
  std::lock_guard lock(login_mu_);
  const std::int64_t now = now_seconds();
  auto roles = store_.list(prefix_ + "secret-id/");
  if (!roles) return std::move(roles).err();
  std::size_t removed = 0;
  std::set<std::string> live;  // "<role>/<hmac>" of every secret ID kept
  for (const auto& dir : *roles) {
    if (dir.empty() || dir.back() != '/') continue;
    const std::string name = dir.substr(0, dir.size() - 1);
    std::vector<std::pair<std::string, std::string>> expired;  // hmac, accessor
    const std::string base = prefix_ + "secret-id/" + dir;
    auto s = store_.scan(base, [&](const std::string& key, std::string_view value) {
      const std::string hmac = key.substr(base.size());
      auto i = info_from_json(value);
      if (!i || (i->expiration_time != 0 && now >= i->expiration_time)) {
        expired.emplace_back(hmac, i ? i->accessor : "");
      } else {
        live.insert(name + "/" + hmac);
      }
      return true;
    });
    if (!s) return std::move(s).err();
    for (const auto& [hmac, accessor] : expired) {
      if (auto d = delete_secret(name, hmac, accessor); !d) return std::move(d).err();
      ++removed;
    }
  }
  // Accessor entries that point at no secret ID (a secret ID lost its accessor's partner).
  std::vector<std::string> dangling;
  auto s = store_.scan(prefix_ + "accessor/", [&](const std::string& key, std::string_view value) {
    if (live.count(std::string(value)) == 0) dangling.push_back(key);
    return true;
  });
  if (!s) return std::move(s).err();
  if (!dangling.empty()) {
    std::vector<storage::operation> ops;
    for (auto& k : dangling) ops.push_back(storage::operation::remove(std::move(k)));
    if (auto a = store_.apply(std::move(ops)); !a) return std::move(a).err();
  }
  return removed;
}

status approle_backend::destroy_all() {
  std::vector<std::string> keys;
  auto s = store_.scan(prefix_, [&](const std::string& key, std::string_view) {
    keys.push_back(key);
    return true;
  });
  if (!s) return s;
  std::vector<storage::operation> ops;
  for (auto& k : keys) ops.push_back(storage::operation::remove(std::move(k)));
  if (ops.empty()) return ok_v;
  return store_.apply(std::move(ops));
}

}  // namespace credbroker::auth
