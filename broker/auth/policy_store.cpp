#include "broker/auth/policy_store.hpp"

#include <algorithm>

namespace credbroker::auth {
namespace {
constexpr const char* prefix = "sys/policy/";
}

std::string policy_store::normalise(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

status policy_store::put(const std::string& raw_name, std::string_view text) {
  const std::string name = normalise(raw_name);
  // "response-wrapping" names wrapping tokens (api/response_wrapping.hpp): immutable, as Vault's.
  if (name == "root" || name == "response-wrapping") {
    return make_error(errc::invalid_request, "cannot update \"" + name + "\" policy");
  }
  if (name.empty()) return make_error(errc::invalid_request, "policy name must be provided");
  auto parsed = parse_policy(name, text);
  if (!parsed) return make_error(errc::invalid_request, "failed to parse policy: " + parsed.err().message);
  if (auto s = store_.put(prefix + name, std::string(text)); !s) return s;
  std::lock_guard lock(mu_);
  policies_[name] = std::make_shared<const policy>(std::move(*parsed));
  acls_.clear();
  ++generation_;
  return ok_v;
}

result<std::optional<std::shared_ptr<const policy>>> policy_store::get(const std::string& raw_name) {
  const std::string name = normalise(raw_name);
  if (name == "root") {
    auto root = std::make_shared<policy>();
    root->name = "root";
    return std::optional<std::shared_ptr<const policy>>(std::move(root));
  }
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = policies_.find(name); it != policies_.end()) return std::optional(it->second);
    generation = generation_;
  }
  auto raw = store_.get(prefix + name);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<std::shared_ptr<const policy>>();
  auto parsed = parse_policy(name, **raw);
  if (!parsed) {
    return make_error(errc::internal, "stored policy \"" + name + "\" does not parse: " + parsed.err().message);
  }
  auto p = std::make_shared<const policy>(std::move(*parsed));
  std::lock_guard lock(mu_);
  if (generation == generation_) policies_.emplace(name, p);
  return std::optional<std::shared_ptr<const policy>>(p);
}

status policy_store::remove(const std::string& raw_name) {
  const std::string name = normalise(raw_name);
  if (name == "root" || name == "default" || name == "response-wrapping") {
    return make_error(errc::invalid_request, "cannot delete \"" + name + "\" policy");
  }
  if (auto s = store_.remove(prefix + name); !s) return s;
  std::lock_guard lock(mu_);
  policies_.erase(name);
  acls_.clear();
  ++generation_;
  return ok_v;
}

result<std::vector<std::string>> policy_store::list() {
  auto keys = store_.list(prefix);
  if (!keys) return std::move(keys).err();
  std::vector<std::string> out;
  for (auto& k : *keys) {
    if (!k.empty() && k.back() != '/') out.push_back(std::move(k));
  }
  out.emplace_back("root");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

status policy_store::ensure_default() {
  auto existing = store_.get(std::string(prefix) + "default");
  if (!existing) return std::move(existing).err();
  if (existing->has_value()) return ok_v;
  return put("default", default_policy_text());
}

result<std::shared_ptr<const acl>> policy_store::acl_for(const std::vector<std::string>& names) {
  std::vector<std::string> sorted;
  for (const auto& n : names) sorted.push_back(normalise(n));
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string key;
  for (const auto& n : sorted) key += n + ",";
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = acls_.find(key); it != acls_.end()) return it->second;
    generation = generation_;
  }
  std::vector<std::shared_ptr<const policy>> ps;
  for (const auto& n : sorted) {
    auto p = get(n);
    if (!p) return std::move(p).err();
    if (p->has_value()) ps.push_back(**p);
  }
  auto compiled = std::make_shared<const acl>(ps);
  std::lock_guard lock(mu_);
  if (generation == generation_) acls_[key] = compiled;  // else a policy changed meanwhile
  return compiled;
}

void policy_store::clear_cache() {
  std::lock_guard lock(mu_);
  policies_.clear();
  acls_.clear();
  ++generation_;
}

}  // namespace credbroker::auth
