#pragma once
// sys/audit (list), sys/audit/:path (enable, disable) and sys/audit-hash/:path, as Vault's
// (sys_audit.cpp). sys/audit and sys/audit/* are root paths (sudo), as in Vault.
//
//   GET    sys/audit                 {"file/": {"type", "description", "options", "local", "path"}}
//                                    (in data, and at the top level as Vault's sys/ answers)
//   PUT    sys/audit/:path           {"type": "file", "description", "options": {"file_path": ...},
//                                    "local"} -> 204; errors 400 with Vault's texts
//   DELETE sys/audit/:path           204, also when nothing is enabled there
//   PUT    sys/audit-hash/:path      {"input": "..."} -> {"hash": "hmac-sha256:..."}
// Option values may be JSON strings, numbers or booleans (Vault's TypeKVPairs decodes weakly).
#include <vector>

#include "api/router.hpp"
#include "broker/audit/audit_table.hpp"

namespace credbroker::api {

std::vector<route> sys_audit_routes(audit::audit_table& table);

}  // namespace credbroker::api
