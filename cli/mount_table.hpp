#pragma once
// What `secrets` and `auth` share (vault CLI's secrets_*.go and auth_*.go differ only in paths and
// words): the enable body, the tune body, and the mount table as a table.
//
//   enable body  {"type", "description", "config": {"default_lease_ttl", "max_lease_ttl",
//                "force_no_cache"}, "local", "seal_wrap", "options"} -- TTLs as Go durations
//                ("1h0m0s"), left out when not given
//   tune body    only the flags given: default_lease_ttl, max_lease_ttl, description
//   table        Path | Type | Accessor | Description, sorted by path; -detailed adds Plugin,
//                Default TTL / Max TTL ("system" for 0, blank for the system mount), Replication
//                (local/replicated), Seal Wrap, Options, UUID
//
// Thread: pure functions.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"

namespace credbroker::cli {

// -description -default-lease-ttl -max-lease-ttl (+ -path -local -seal-wrap -options for enable).
std::vector<flag_spec> mount_enable_flags(bool with_force_no_cache);
std::vector<flag_spec> mount_tune_flags();

result<nlohmann::json> mount_enable_body(const invocation& inv, const std::string& type);
result<nlohmann::json> mount_tune_body(const invocation& inv);

// The mounts of a sys/mounts or sys/auth reply (its data, else the top level without the envelope).
nlohmann::json mounts_of(const nlohmann::json& reply);
std::string mount_table(const nlohmann::json& mounts, bool detailed);

}  // namespace credbroker::cli
