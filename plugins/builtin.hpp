#pragma once
#include "broker/plugin/registry.hpp"

namespace credbroker::plugins {

// Adds postgresql-database-plugin and redis-database-plugin to the registry.
void register_builtin_plugins(plugin::registry& r);

}  // namespace credbroker::plugins
