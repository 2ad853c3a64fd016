#include "plugins/builtin.hpp"

#include "plugins/postgres/postgres_plugin.hpp"
#include "plugins/redis/redis_plugin.hpp"

namespace credbroker::plugins {

void register_builtin_plugins(plugin::registry& r) {
  r.add("postgresql-database-plugin", [] { return std::make_unique<postgres::postgres_plugin>(); });
  r.add("redis-database-plugin", [] { return std::make_unique<redis::redis_plugin>(); });
}

}  // namespace credbroker::plugins
