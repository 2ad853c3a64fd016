#include "broker/engine/static_role_store.hpp"

#include "broker/engine/record_codec.hpp"

namespace credbroker::engine {

static_role_store::static_role_store(storage::physical& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

std::shared_ptr<std::shared_mutex> static_role_store::lock(const std::string& name) {
  std::lock_guard guard(mu_);
  auto& l = locks_[name];
  if (!l) l = std::make_shared<std::shared_mutex>();
  return l;
}

result<std::optional<static_role>> static_role_store::load(const std::string& name) {
  auto raw = store_.get(key(name));
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::optional<static_role>();
  auto r = static_role_from_json(**raw);
  if (!r) return make_error(errc::internal, "stored static role \"" + name + "\" is damaged");
  return r;
}

status static_role_store::store(const static_role& r) { return store_.put(key(r.name), static_role_to_json(r).dump()); }

result<std::vector<std::string>> static_role_store::list() { return store_.list(prefix_ + "static-role/"); }

}  // namespace credbroker::engine
