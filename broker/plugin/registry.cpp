#include "broker/plugin/registry.hpp"

namespace credbroker::plugin {

void registry::add(std::string plugin_name, factory f) { factories_[std::move(plugin_name)] = std::move(f); }

result<std::unique_ptr<database_plugin>> registry::create(const std::string& plugin_name) const {
  auto it = factories_.find(plugin_name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, _] : factories_) known += (known.empty() ? "" : ", ") + name;
    return make_error(errc::invalid_request,
                      "unknown plugin_name \"" + plugin_name + "\"; known plugins: " + known);
  }
  return it->second();
}

std::vector<std::string> registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : factories_) out.push_back(name);
  return out;
}

}  // namespace credbroker::plugin
