#include "broker/auth/policy.hpp"

#include <algorithm>
#include <map>

#include "broker/core/duration.hpp"
#include "broker/core/hcl.hpp"

namespace credbroker::auth {
namespace {

constexpr std::uint32_t write_caps = cap_read | cap_list | cap_create | cap_update | cap_delete | cap_patch;

struct cap_name {
  const char* name;
  std::uint32_t bit;
};
constexpr cap_name cap_names[] = {
    {"create", cap_create}, {"read", cap_read}, {"update", cap_update}, {"patch", cap_patch},
    {"delete", cap_delete}, {"list", cap_list}, {"sudo", cap_sudo},     {"deny", cap_deny},
};

error bad(const hcl::position& p, std::string message) {
  return make_error(errc::invalid_request, hcl::describe(p) + message);
}

// Merges b into a with Vault's rule: deny anywhere -> deny only.
std::uint32_t merge(std::uint32_t a, std::uint32_t b) {
  if ((a | b) & cap_deny) return cap_deny;
  return a | b;
}

// The lesser non-zero bound (Vault merges both min and max wrapping TTLs this way).
std::int64_t lesser_bound(std::int64_t a, std::int64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

// min_wrapping_ttl / max_wrapping_ttl: a duration string or a number of seconds.
result<std::int64_t> parse_wrapping_ttl(const std::string& path, const hcl::item& it) {
  if (it.v.k != hcl::value::kind::string && it.v.k != hcl::value::kind::number) {
    return bad(it.v.pos, "error parsing " + it.key + " for path \"" + path + "\": expected a duration, found " +
                             it.v.kind_name());
  }
  auto d = parse_duration_seconds(it.v.str);
  if (!d) return bad(it.v.pos, "error parsing " + it.key + " for path \"" + path + "\": " + d.err().message);
  return static_cast<std::int64_t>(d->count());
}

// Merges a rule for the same path into another, as Vault's NewACL: a deny keeps only the deny.
void merge_rule(path_rule& into, const path_rule& more) {
  into.min_wrapping_ttl = lesser_bound(into.min_wrapping_ttl, more.min_wrapping_ttl);
  into.max_wrapping_ttl = lesser_bound(into.max_wrapping_ttl, more.max_wrapping_ttl);
  if (into.caps & cap_deny) return;
  if (more.caps & cap_deny) {
    into.caps = cap_deny;
    into.params.allowed.clear();
    into.params.denied.clear();
    return;
  }
  into.caps |= more.caps;
  into.params.merge(more.params);
}

result<path_rule> parse_path_body(const std::string& path, const hcl::item& block) {
  if (block.v.k != hcl::value::kind::object) {
    return bad(block.v.pos, "path \"" + path + "\" must be a block, found " + block.v.kind_name());
  }
  std::uint32_t caps = 0;
  parameter_rules params;
  std::int64_t min_wrap = 0, max_wrap = 0;
  bool any = false;
  for (const auto& it : block.v.object) {
    if (it.key == "capabilities") {
      if (it.v.k != hcl::value::kind::list) {
        return bad(it.v.pos, "capabilities for path \"" + path + "\" must be a list of strings, found " + it.v.kind_name());
      }
      for (const auto& c : it.v.list) {
        if (c.k != hcl::value::kind::string) {
          return bad(c.pos, "capabilities for path \"" + path + "\" must be strings, found " + c.kind_name());
        }
        const auto* known = std::find_if(std::begin(cap_names), std::end(cap_names),
                                         [&](const cap_name& n) { return c.str == n.name; });
        if (known == std::end(cap_names)) {
          return bad(c.pos, "invalid capability \"" + c.str + "\" for path \"" + path +
                                "\" (expected create, read, update, patch, delete, list, sudo or deny)");
        }
        caps = merge(caps, known->bit);
      }
      any = true;
    } else if (it.key == "policy") {
      if (it.v.k != hcl::value::kind::string) {
        return bad(it.v.pos, "policy for path \"" + path + "\" must be a string");
      }
      const std::string& p = it.v.str;
      if (p == "deny") {
        caps = merge(caps, cap_deny);
      } else if (p == "read") {
        caps = merge(caps, cap_read | cap_list);
      } else if (p == "write") {
        caps = merge(caps, write_caps);
      } else if (p == "sudo") {
        caps = merge(caps, write_caps | cap_sudo);
      } else {
        return bad(it.v.pos, "invalid policy \"" + p + "\" for path \"" + path + "\" (expected deny, read, write or sudo)");
      }
      any = true;
    } else if (it.key == "allowed_parameters") {
      if (auto s = parse_parameter_map(it.v, it.key, path, params.allowed); !s) return std::move(s).err();
    } else if (it.key == "denied_parameters") {
      if (auto s = parse_parameter_map(it.v, it.key, path, params.denied); !s) return std::move(s).err();
    } else if (it.key == "required_parameters") {
      if (auto s = parse_required_parameters(it.v, path, params.required); !s) return std::move(s).err();
    } else if (it.key == "min_wrapping_ttl" || it.key == "max_wrapping_ttl") {
      auto ttl = parse_wrapping_ttl(path, it);
      if (!ttl) return std::move(ttl).err();
      (it.key == "min_wrapping_ttl" ? min_wrap : max_wrap) = *ttl;
    } else if (it.key == "control_group" || it.key == "mfa_methods") {
      // Accepting these and ignoring them would grant more than the author meant.
      return bad(it.pos, "\"" + it.key + "\" (path \"" + path + "\") is not supported by credbroker");
    } else {
      return bad(it.pos, "invalid key \"" + it.key + "\" in path \"" + path + "\"");
    }
  }
  if (!any) return bad(block.pos, "path \"" + path + "\" has no capabilities");
  if (min_wrap != 0 && max_wrap != 0 && max_wrap < min_wrap) {
    return bad(block.pos, "max_wrapping_ttl cannot be less than min_wrapping_ttl (path \"" + path + "\")");
  }
  return path_rule{"", caps, std::move(params), min_wrap, max_wrap};
}

void count_wildcards(std::string_view path, std::size_t& first, std::size_t& segments, bool& has_plus) {
  first = path.size();
  segments = 0;
  has_plus = false;
  std::size_t start = 0;
  for (;;) {
    const auto slash = path.find('/', start);
    const auto seg = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg == "+") {
      if (!has_plus) first = start;
      has_plus = true;
      ++segments;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

}  // namespace

std::vector<std::string> capability_names(std::uint32_t caps) {
  if (caps == 0 || (caps & cap_deny)) return {"deny"};
  std::vector<std::string> out;
  for (const auto& n : cap_names) {
    if (caps & n.bit) out.emplace_back(n.name);
  }
  return out;
}

result<policy> parse_policy(std::string name, std::string_view text) {
  auto doc = hcl::parse(text);
  if (!doc) return std::move(doc).err();
  policy out;
  out.name = std::move(name);
  out.raw = std::string(text);
  std::map<std::string, std::size_t> seen;
  for (const auto& it : doc->items) {
    if (it.key == "name") continue;  // legacy, ignored as Vault does
    if (it.key != "path") return bad(it.pos, "invalid key \"" + it.key + "\" (expected path)");
    std::vector<const hcl::item*> blocks;
    if (it.v.k == hcl::value::kind::object) {
      for (const auto& b : it.v.object) blocks.push_back(&b);
    } else if (it.v.k == hcl::value::kind::list) {  // JSON: "path": [{"a": {...}}, ...]
      for (const auto& e : it.v.list) {
        if (e.k != hcl::value::kind::object) return bad(e.pos, "path entries must be blocks");
        for (const auto& b : e.object) blocks.push_back(&b);
      }
    } else {
      return bad(it.v.pos, "path must be followed by a quoted path and a block, found " + std::string(it.v.kind_name()));
    }
    for (const auto* b : blocks) {
      std::string p = b->key;
      while (!p.empty() && p.front() == '/') p.erase(0, 1);
      if (const auto star = p.find('*'); star != std::string::npos && star + 1 != p.size()) {
        return bad(b->pos, "invalid path \"" + b->key + "\": '*' is only allowed at the end");
      }
      auto rule = parse_path_body(b->key, *b);
      if (!rule) return std::move(rule).err();
      rule->path = p;
      if (auto s = seen.find(p); s != seen.end()) {
        merge_rule(out.rules[s->second], *rule);
      } else {
        seen.emplace(p, out.rules.size());
        out.rules.push_back(std::move(*rule));
      }
    }
  }
  return out;
}

acl::acl(const std::vector<std::shared_ptr<const policy>>& policies) {
  std::map<std::string, path_rule> globs;
  for (const auto& p : policies) {
    if (!p) continue;
    if (p->name == "root") {
      root_ = true;
      continue;
    }
    for (const auto& r : p->rules) {
      bool plus = false;
      std::size_t first = 0, segs = 0;
      count_wildcards(r.path, first, segs, plus);
      const bool prefix = !r.path.empty() && r.path.back() == '*';
      if (!prefix && !plus) {
        auto [it, fresh] = exact_.emplace(r.path, r);
        if (!fresh) merge_rule(it->second, r);
      } else {
        auto [it, fresh] = globs.emplace(r.path, r);
        if (!fresh) merge_rule(it->second, r);
      }
    }
  }
  for (const auto& [path, rule] : globs) {
    glob_rule g;
    g.prefix = path.back() == '*';
    g.path = g.prefix ? path.substr(0, path.size() - 1) : path;
    count_wildcards(g.path, g.first_wildcard, g.wildcard_segments, g.has_plus);
    if (!g.has_plus) g.first_wildcard = g.path.size();
    g.perms = rule;
    globs_.push_back(std::move(g));
  }
}

bool acl::glob_matches(const glob_rule& r, std::string_view path) {
  if (!r.has_plus) return path.substr(0, r.path.size()) == r.path;
  // Segment by segment; with a prefix rule the last rule segment is a prefix of the path's segment
  // and the path may continue.
  std::string_view rule = r.path;
  std::string_view rest = path;
  for (;;) {
    const auto rs = rule.find('/');
    const std::string_view rseg = rule.substr(0, rs);
    const bool last_rule_seg = rs == std::string_view::npos;
    const auto ps = rest.find('/');
    const std::string_view pseg = rest.substr(0, ps);
    if (last_rule_seg) {
      if (r.prefix) {
        return rseg == "+" || pseg.substr(0, rseg.size()) == rseg;
      }
      return ps == std::string_view::npos && (rseg == "+" || rseg == pseg);
    }
    if (ps == std::string_view::npos) return false;
    if (rseg != "+" && rseg != pseg) return false;
    rule.remove_prefix(rs + 1);
    rest.remove_prefix(ps + 1);
  }
}

const path_rule* acl::lookup(std::string_view path, bool list) const {
  if (auto it = exact_.find(std::string(path)); it != exact_.end()) return &it->second;
  if (list && !path.empty() && path.back() == '/') {
    if (auto it = exact_.find(std::string(path.substr(0, path.size() - 1))); it != exact_.end()) return &it->second;
  }
  const glob_rule* best = nullptr;
  auto lower = [](const glob_rule& a, const glob_rule& b) {  // a has lower priority than b
    if (a.first_wildcard != b.first_wildcard) return a.first_wildcard < b.first_wildcard;
    if (a.prefix != b.prefix) return a.prefix;
    if (a.wildcard_segments != b.wildcard_segments) return a.wildcard_segments > b.wildcard_segments;
    if (a.path.size() != b.path.size()) return a.path.size() < b.path.size();
    return a.path < b.path;
  };
  for (const auto& g : globs_) {
    if (!glob_matches(g, path)) continue;
    if (best == nullptr || lower(*best, g)) best = &g;
  }
  return best ? &best->perms : nullptr;
}

acl_decision acl::check(acl_operation op, std::string_view path, const nlohmann::json& data) const {
  if (root_) return {true, true, true};
  const path_rule* rule = lookup(path, op == acl_operation::list);
  const std::uint32_t caps = rule ? rule->caps : 0;
  if (caps == 0 || (caps & cap_deny)) return {};
  std::uint32_t need = 0;
  switch (op) {
    case acl_operation::read: need = cap_read; break;
    case acl_operation::list: need = cap_list; break;
    case acl_operation::create: need = cap_create; break;
    case acl_operation::update: need = cap_update; break;
    case acl_operation::remove: need = cap_delete; break;
    case acl_operation::patch: need = cap_patch; break;
  }
  const bool sudo = (caps & cap_sudo) != 0;
  const std::int64_t min_wrap = rule ? rule->min_wrapping_ttl : 0, max_wrap = rule ? rule->max_wrapping_ttl : 0;
  if ((caps & need) == 0) return {false, sudo, false, min_wrap, max_wrap};
  const bool judges_data = op == acl_operation::read || op == acl_operation::create ||
                           op == acl_operation::update || op == acl_operation::patch;
  if (judges_data && !rule->params.allow(data)) return {false, sudo, false, min_wrap, max_wrap};
  return {true, sudo, false, min_wrap, max_wrap};
}

std::uint32_t acl::capabilities(std::string_view path) const {
  if (root_) return ~cap_deny & 0xffu;
  const path_rule* rule = lookup(path, false);
  return rule ? rule->caps : 0;
}

std::string_view default_policy_text() {
  return R"(# Every token may manage itself and the leases it holds.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}
path "sys/leases/renew" {
  capabilities = ["update"]
}
path "sys/renew" {
  capabilities = ["update"]
}
path "sys/leases/lookup" {
  capabilities = ["update"]
}
# Response wrapping: wrap values, look up and unwrap wrapping tokens handed over.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
)";
}

}  // namespace credbroker::auth
