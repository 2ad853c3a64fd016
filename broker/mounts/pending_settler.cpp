#include "broker/mounts/pending_settler.hpp"

#include <spdlog/spdlog.h>

#include "broker/core/backoff.hpp"

namespace credbroker::mounts {

pending_settler::counts pending_settler::settle(const std::vector<std::string>& ids) {
  counts out;
  for (const auto& id : ids) {
    auto l = leases_.lookup(id);
    if (!l) {
      if (l.err().code != make_error_code(errc::lease_not_found)) out.left.push_back(id);
      continue;  // not found: revoked meanwhile
    }
    if (l->state != leases::lease_state::pending) continue;
    auto e = engines_.find_for_lease(id);
    if (!e) {
      out.left.push_back(id);
      continue;
    }
    auto s = e->resolve_pending(*l);
    if (!s) {
      out.left.push_back(id);  // stays pending; tried again later and, at its expiry, revoked
      spdlog::warn("pending lease {} could not be settled: {}", id, s.err().message);
    } else if (*s) {
      ++out.kept;
    } else {
      ++out.forgotten;
    }
  }
  return out;
}

void pending_settler::keep_for_later(const std::vector<std::string>& left, bool first) {
  std::lock_guard lock(list_mu_);
  unsettled_.insert(unsettled_.end(), left.begin(), left.end());
  attempts_ = first ? 1 : attempts_ + 1;
  next_ = clock_.now() + doubling_backoff(std::chrono::seconds(5), std::chrono::minutes(5), attempts_);
}

void pending_settler::resolve() {
  auto r = settle(leases_.take_pending());
  spdlog::info("pending leases settled: {} kept (user exists), {} forgotten (no user), {} left (tried again later)",
               r.kept, r.forgotten, r.left.size());
  keep_for_later(r.left, true);
}

void pending_settler::retry_due() {
  std::vector<std::string> due;
  {
    std::lock_guard lock(list_mu_);
    if (!unsettled_.empty() && clock_.now() >= next_) due.swap(unsettled_);
  }
  if (due.empty()) return;
  auto r = settle(due);
  spdlog::info("pending leases retried: {} kept (user exists), {} forgotten (no user), {} left", r.kept, r.forgotten,
               r.left.size());
  keep_for_later(r.left, false);
}

void pending_settler::clear() {
  std::lock_guard lock(list_mu_);
  unsettled_.clear();
}

}  // namespace credbroker::mounts
