// engine_router (declared in database_engine.hpp): the lease manager's revoker for every database
// mount, routing a lease to the engine of the longest mount its id starts with.
#include "broker/engine/database_engine.hpp"

namespace credbroker::engine {

void engine_router::add(std::shared_ptr<database_engine> e) {
  std::lock_guard lock(mu_);
  engines_[e->mount()] = std::move(e);
}

void engine_router::remove(const std::string& mount) {
  std::lock_guard lock(mu_);
  engines_.erase(mount);
}

std::shared_ptr<database_engine> engine_router::find_for_lease(const std::string& lease_id) const {
  std::lock_guard lock(mu_);
  std::shared_ptr<database_engine> best;
  for (const auto& [mount, e] : engines_) {
    if (lease_id.compare(0, mount.size(), mount) == 0 && (!best || mount.size() > best->mount().size())) best = e;
  }
  return best;
}

std::vector<std::shared_ptr<database_engine>> engine_router::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<database_engine>> out;
  for (const auto& [_, e] : engines_) out.push_back(e);
  return out;
}

status engine_router::revoke(const leases::lease& l) {
  auto e = find_for_lease(l.id);
  if (!e) return make_error(errc::unavailable, "no database mount serves lease \"" + l.id + "\"");
  if (!l.inherited) return e->revoke(l);
  std::vector<std::string> earlier;
  {
    std::lock_guard lock(mu_);
    earlier = earlier_boots_;
  }
  return e->revoke(l, earlier);
}

void engine_router::set_earlier_boots(std::vector<std::string> boots) {
  std::lock_guard lock(mu_);
  earlier_boots_ = std::move(boots);
}

status engine_router::renew(const leases::lease& l, time_point new_expire) {
  auto e = find_for_lease(l.id);
  if (!e) return make_error(errc::unavailable, "no database mount serves lease \"" + l.id + "\"");
  return e->renew(l, new_expire);
}

}  // namespace credbroker::engine
