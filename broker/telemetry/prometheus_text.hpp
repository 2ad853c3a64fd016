#pragma once
// render_prometheus: an exposition in Prometheus's text format 0.0.4 (Content-Type
// prometheus_content_type), one block per family:
//
//   # HELP vault_core_unsealed Whether the node is unsealed (1) or sealed (0).
//   # TYPE vault_core_unsealed gauge
//   vault_core_unsealed{cluster="credbroker-cluster"} 1
//
// Names: Vault's Prometheus names: the key's '.' and every character outside [A-Za-z0-9_] become
// '_', and camelCase becomes snake_case so `promtool check metrics` accepts every name
// ("vault.route.read.database-" -> vault_route_read_database_, "vault.database.NewUser" ->
// vault_database_new_user).
// Types: a counter whose name does not end in _total (Vault's names: vault_audit_log_request_failure)
// is typed "untyped": Prometheus's lint requires the suffix of counters, and Vault's alerts use the
// name as it is; PromQL treats both alike. Our own counters end in _total and are typed counter.
// Histograms: name_bucket{...,le="b"} (cumulative, the last le="+Inf"), name_sum, name_count.
// Summaries: name{...,quantile="0.5|0.9|0.99"}, name_sum, name_count.
// Escaping: label values \ " and newline as \\ \" \n; HELP text \ and newline as \\ \n.
// Numbers: as Go's strconv.FormatFloat(v, 'g', -1, 64), which Vault's Prometheus client writes:
// the shortest round-trip digits, exponent form below 1e-4 and from 1e6 ("0.0005", "12", "2.5e-05",
// "1.5e+06"); +Inf, -Inf, NaN.
#include <string>
#include <string_view>

#include "broker/telemetry/exposition.hpp"

namespace credbroker::telemetry {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const exposition& e);

// The pieces, for tests.
std::string prometheus_name(std::string_view key);
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
std::string format_value(double v);

}  // namespace credbroker::telemetry
