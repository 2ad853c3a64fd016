#pragma once
// The routes of the "sys/" mount, one file per resource. Each factory returns a route whose handlers
// hold references to the services they need; those must outlive the router.
#include "api/router.hpp"
#include "broker/core/node_status.hpp"

namespace credbroker::api {

route sys_health_route(const node_status& node);       // sys_health.cpp
route sys_seal_status_route(const node_status& node);  // sys_seal.cpp
route sys_init_route(const node_status& node);         // sys_seal.cpp
nlohmann::json seal_status_body(const seal_snapshot& s);

}  // namespace credbroker::api
