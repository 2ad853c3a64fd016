#pragma once
// Label values as Vault computes them.
//   ttl_bucket: Vault's metricsutil.TTLBucket, the creation_ttl label of vault_token_creation and
//   vault_secret_lease_creation: the first of 1m 10m 20m 1h 2h 1d 2d 7d 30d that is >= ttl, else
//   "+Inf" (a ttl of 0, a token that never expires, is "1m", as in Vault).
//   Examples: 45s -> "1m", 1h -> "1h", 90m -> "2h", 31d -> "+Inf".
#include <chrono>
#include <string>

namespace credbroker::telemetry {

std::string ttl_bucket(std::chrono::seconds ttl);

}  // namespace credbroker::telemetry
