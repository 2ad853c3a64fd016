#include "broker/engine/records.hpp"

#include <algorithm>

namespace credbroker::engine {

std::string role_password_policy(const connection_config& c, const nlohmann::json& credential_config) {
  if (auto p = credential_config.find("password_policy"); p != credential_config.end() && p->is_string()) {
    return p->get<std::string>();
  }
  return c.password_policy;
}

bool glob_match(std::string_view p, std::string_view s) {
  // Iterative wildcard match with backtracking on the last '*'.
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool reconcile_report::clean() const {
  return std::all_of(nodes.begin(), nodes.end(),
                     [](const node_report& n) { return n.leases_without_user.empty() && n.users_without_lease.empty(); });
}

}  // namespace credbroker::engine
