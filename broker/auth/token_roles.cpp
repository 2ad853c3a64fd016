#include "broker/auth/token_roles.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "broker/auth/token_store.hpp"

namespace credbroker::auth {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool matches_any_glob(const std::vector<std::string>& globs, std::string_view s) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return glob_match(g, s); });
}

// Go's %q of a []string: ["a" "b"].
std::string quoted_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ' ';
    out += '"' + v[i] + '"';
  }
  return out + "]";
}

error bad(std::string m) { return make_error(errc::invalid_request, std::move(m)); }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view value) {
  // go-glob: the pattern split at '*'; the first piece is a prefix, the last a suffix, the middle
  // ones appear in order.
  if (pattern == "*") return true;
  const auto first_star = pattern.find('*');
  if (first_star == std::string_view::npos) return pattern == value;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto star = pattern.find('*', start);
    parts.push_back(pattern.substr(start, star == std::string_view::npos ? std::string_view::npos : star - start));
    if (star == std::string_view::npos) break;
    start = star + 1;
  }
  const std::string_view head = parts.front();
  const std::string_view tail = parts.back();
  if (value.size() < head.size() + tail.size()) return false;
  if (value.substr(0, head.size()) != head) return false;
  if (value.substr(value.size() - tail.size()) != tail) return false;
  std::string_view middle = value.substr(head.size(), value.size() - head.size() - tail.size());
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    const auto at = middle.find(parts[i]);
    if (at == std::string_view::npos) return false;
    middle.remove_prefix(at + parts[i].size());
  }
  return true;
}

result<std::vector<std::string>> role_policies(const token_role& role, const std::vector<std::string>& requested,
                                               const std::vector<std::string>& parent, bool no_default_policy) {
  const bool add_default = !no_default_policy && !role.token_no_default_policy &&
                           !contains(role.disallowed_policies, "default") &&
                           !matches_any_glob(role.disallowed_policies_glob, "default");
  std::vector<std::string> final_policies;
  if (!sanitize_policies(requested, false).empty()) final_policies = sanitize_policies(requested, add_default);
  if (!role.allowed_policies.empty() || !role.allowed_policies_glob.empty()) {
    const auto allowed = sanitize_policies(role.allowed_policies, add_default);
    if (final_policies.empty()) {
      final_policies = allowed;
    } else {
      const auto globs = sanitize_policies(role.allowed_policies_glob, false);
      for (const auto& p : final_policies) {
        if (!contains(allowed, p) && !matches_any_glob(globs, p)) {
          return bad("token policies (" + quoted_list(final_policies) + ") must be subset of the role's allowed policies (" +
                     quoted_list(allowed) + ") or glob policies (" + quoted_list(globs) + ")");
        }
      }
    }
  } else if (final_policies.empty()) {
    final_policies = sanitize_policies(parent, add_default);
  }
  for (const auto& p : final_policies) {
    if (contains(role.disallowed_policies, p) || matches_any_glob(role.disallowed_policies_glob, p)) {
      return bad("token policy \"" + p + "\" is disallowed by this role");
    }
  }
  if (no_default_policy || role.token_no_default_policy) std::erase(final_policies, std::string("default"));
  return final_policies;
}

std::string to_json(const token_role& r) {
  return nlohmann::json{{"name", r.name},
                        {"allowed_policies", r.allowed_policies},
                        {"disallowed_policies", r.disallowed_policies},
                        {"allowed_policies_glob", r.allowed_policies_glob},
                        {"disallowed_policies_glob", r.disallowed_policies_glob},
                        {"orphan", r.orphan},
                        {"renewable", r.renewable},
                        {"path_suffix", r.path_suffix},
                        {"period", r.period},
                        {"token_period", r.token_period},
                        {"explicit_max_ttl", r.explicit_max_ttl},
                        {"token_explicit_max_ttl", r.token_explicit_max_ttl},
                        {"token_type", r.token_type},
                        {"allowed_entity_aliases", r.allowed_entity_aliases},
                        {"token_no_default_policy", r.token_no_default_policy},
                        {"token_num_uses", r.token_num_uses},
                        {"token_bound_cidrs", r.token_bound_cidrs}}
      .dump();
}

std::optional<token_role> token_role_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  token_role r;
  try {
    using strings = std::vector<std::string>;
    r.name = j.value("name", "");
    r.allowed_policies = j.value("allowed_policies", strings{});
    r.disallowed_policies = j.value("disallowed_policies", strings{});
    r.allowed_policies_glob = j.value("allowed_policies_glob", strings{});
    r.disallowed_policies_glob = j.value("disallowed_policies_glob", strings{});
    r.orphan = j.value("orphan", false);
    r.renewable = j.value("renewable", true);
    r.path_suffix = j.value("path_suffix", "");
    r.period = j.value("period", std::int64_t{0});
    r.token_period = j.value("token_period", std::int64_t{0});
    r.explicit_max_ttl = j.value("explicit_max_ttl", std::int64_t{0});
    r.token_explicit_max_ttl = j.value("token_explicit_max_ttl", std::int64_t{0});
    r.token_type = j.value("token_type", "default-service");
    r.allowed_entity_aliases = j.value("allowed_entity_aliases", strings{});
    r.token_no_default_policy = j.value("token_no_default_policy", false);
    r.token_num_uses = j.value("token_num_uses", std::int64_t{0});
    r.token_bound_cidrs = j.value("token_bound_cidrs", std::vector<std::string>{});
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return r;
}

result<std::optional<token_role>> token_role_store::get(const std::string& name) {
  auto raw = store_.get(prefix + name);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<token_role>();
  auto r = token_role_from_json(**raw);
  if (!r) return make_error(errc::internal, "stored token role is damaged");
  return std::optional<token_role>(std::move(*r));
}

status token_role_store::put(const token_role& r) { return store_.put(prefix + r.name, to_json(r)); }

status token_role_store::remove(const std::string& name) { return store_.remove(prefix + name); }

result<std::vector<std::string>> token_role_store::list() {
  auto keys = store_.list(prefix);
  if (!keys) return std::move(keys).err();
  std::vector<std::string> out;
  for (auto& k : *keys) {
    if (!k.empty() && k.back() != '/') out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace credbroker::auth
