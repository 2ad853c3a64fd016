#pragma once
// registry: plugin_name -> factory. Explicit, no static self-registration: main() calls
// register_builtin_plugins(registry&) (plugins/builtin.hpp) and a test may build its own registry
// holding a fake. Thread: fill it at start-up, then only read it (reads are const and safe).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/plugin/database_plugin.hpp"

namespace credbroker::plugin {

using factory = std::function<std::unique_ptr<database_plugin>()>;

class registry {
 public:
  // Adds or replaces the factory for a plugin name such as "postgresql-database-plugin".
  void add(std::string plugin_name, factory f);
  // A new, uninitialised instance; error naming the known plugins if the name is unknown.
  result<std::unique_ptr<database_plugin>> create(const std::string& plugin_name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, factory> factories_;
};

}  // namespace credbroker::plugin
