#pragma once
// render_vault_json: an exposition in the shape of Vault's GET sys/metrics without ?format (go-metrics'
// MetricsSummary):
//
//   {"Timestamp": "2026-12-01 10:00:00 +0000 UTC",
//    "Gauges":   [{"Name": "vault.core.unsealed", "Value": 1, "Labels": {"cluster": "..."}}],
//    "Points":   [],
//    "Counters": [{"Name": "vault.audit.log_request_failure", "Count": 0, "Rate": 0, "Sum": 0,
//                  "Min": 0, "Max": 0, "Mean": 0, "Stddev": 0, "Labels": {}}],
//    "Samples":  [{"Name": "vault.core.handle_request", "Count": 12, "Rate": 0.4, "Sum": 3.1, "Min": 0.1,
//                  "Max": 0.9, "Mean": 0.26, "Stddev": 0.2, "Labels": {}}]}
//
// Names are the dotted keys (Vault's, camelCase kept: "vault.database.NewUser"). Gauges, Counters and
// Samples are each sorted by name. Unlike Vault, whose summary is of the last 10-second interval,
// values are cumulative since the server started: Count and Sum of a counter are its total (every
// increment is 1, so Min = Max = Mean = 1 once it moved), Rate is Sum per second since the start,
// and a histogram's or summary's Samples entry gives count, sum, min, max, mean and standard
// deviation of every observation (summaries in their unit: Vault's milliseconds). Histogram buckets
// and quantiles are only in the Prometheus format.
#include <chrono>

#include <nlohmann/json.hpp>

#include "broker/telemetry/exposition.hpp"

namespace credbroker::telemetry {

nlohmann::json render_vault_json(const exposition& e, std::chrono::system_clock::time_point now);

// Go's time.Time.String() of a UTC time rounded to the second: "2006-01-02 15:04:05 +0000 UTC".
std::string go_utc_timestamp(std::chrono::system_clock::time_point t);

}  // namespace credbroker::telemetry
