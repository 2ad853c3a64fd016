#include "broker/engine/reconciliation.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "broker/core/duration.hpp"

namespace credbroker::engine {

reconciler::reconciler(connections& conns, leases::lease_manager& leases, const clock& clk, std::string mount)
    : conns_(conns), leases_(leases), clock_(clk), mount_(std::move(mount)) {}

result<reconcile_report> reconciler::reconcile(const std::string& connection) {
  auto inst = conns_.instance(connection);
  if (!inst) return std::move(inst).err();
  const time_point started = clock_.now();
  auto before = (*inst)->list_users();
  if (!before) {
    if (before.err().code == make_error_code(errc::unsupported_operation)) {
      return make_error(errc::invalid_request, "connection \"" + connection + "\" cannot be reconciled: " + before.err().message);
    }
    return std::move(before).err();
  }
  // Active leases of this connection that existed before the first listing.
  std::map<std::string, std::string> lease_of_user;  // username -> lease id
  auto s = leases_.for_each(mount_ + "creds/", [&](const leases::lease& l) {
    if (l.connection != connection || l.state != leases::lease_state::active) return;
    if (l.issue_time + std::chrono::seconds(2) >= started) return;  // issued during the check
    lease_of_user.emplace(l.username, l.id);
  });
  if (!s) return std::move(s).err();
  // A second listing: a user revoked during the scan (its lease gone, the user dropped) is not a leftover.
  auto after = (*inst)->list_users();
  if (!after) return std::move(after).err();
  reconcile_report out;
  out.connection = connection;
  out.prefix = before->prefix;
  out.leases = lease_of_user.size();
  constexpr std::size_t cap = 1000;
  for (std::size_t i = 0; i < before->nodes.size(); ++i) {
    reconcile_report::node_report n;
    n.node = before->nodes[i].first;
    const auto& first = before->nodes[i].second;
    const std::set<std::string> present(first.begin(), first.end());
    std::set<std::string> still;
    if (i < after->nodes.size()) still.insert(after->nodes[i].second.begin(), after->nodes[i].second.end());
    n.users = present.size();
    for (const auto& [user, id] : lease_of_user) {
      if (!present.contains(user) && !still.contains(user) && n.leases_without_user.size() < cap) n.leases_without_user.push_back(id);
    }
    for (const auto& user : present) {
      if (!lease_of_user.contains(user) && still.contains(user) && n.users_without_lease.size() < cap) {
        n.users_without_lease.push_back(user);
      }
    }
    out.nodes.push_back(std::move(n));
  }
  return out;
}

bool reconciler::take_due(const std::string& name, const connection_config& c, time_point now) {
  std::chrono::seconds every{300};
  if (auto it = c.details.find("reconcile_interval"); it != c.details.end() && !it->is_null()) {
    auto d = parse_duration_value(*it);
    if (!d) return false;
    every = *d;
  }
  if (every.count() == 0) return false;
  std::lock_guard lock(mu_);
  auto& last = last_[name];
  if (last != time_point{} && now - last < every) return false;
  last = now;
  return true;
}

void reconciler::log_findings(const std::string& name, const reconcile_report& r) const {
  for (const auto& n : r.nodes) {
    if (!n.leases_without_user.empty()) {
      spdlog::warn("reconcile {}{}: {} lease(s) whose user is gone from {} (e.g. {}): the database lost them (a restart without persistence?)",
                   mount_, name, n.leases_without_user.size(), n.node, n.leases_without_user.front());
    }
    if (!n.users_without_lease.empty()) {
      spdlog::warn("reconcile {}{}: {} user(s) with prefix \"{}\" and no lease on {} (e.g. {})", mount_, name,
                   n.users_without_lease.size(), r.prefix, n.node, n.users_without_lease.front());
    }
  }
  if (r.clean()) spdlog::debug("reconcile {}{}: {} lease(s), clean", mount_, name, r.leases);
}

void reconciler::reconcile_due() {
  auto names = conns_.list();
  if (!names) return;
  const time_point now = clock_.now();
  for (const auto& name : *names) {
    auto cfg = conns_.find(name);
    if (!cfg || !*cfg) continue;
    if (!take_due(name, **cfg, now)) continue;
    auto r = reconcile(name);
    if (!r) {
      // A plugin that cannot list users says so at once, without a database call: skipped quietly.
      if (r.err().code != make_error_code(errc::invalid_request)) spdlog::warn("reconcile {}{}: {}", mount_, name, r.err().message);
      continue;
    }
    log_findings(name, *r);
  }
}

}  // namespace credbroker::engine
