#include "broker/engine/usage_gauges.hpp"

#include <spdlog/spdlog.h>

#include "leases/lease_census.hpp"

namespace credbroker::engine {
namespace {

using telemetry::metric_kind;

const std::vector<std::string> rotation_labels = {"mount", "kind", "name"};

double unix_seconds(time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// One scrape-time family per field of plugin::pool_stats.
telemetry::registration watch_pools(const engine_router& engines, const char* key, const char* help,
                                    std::size_t plugin::pool_stats::*field) {
  return telemetry::global_registry().on_collect(
      {key, help, metric_kind::gauge, {"mount", "connection"}}, [&engines, field](std::vector<telemetry::sample>& out) {
        for (const auto& e : engines.all()) {
          for (const auto& [name, p] : e->pools()) out.push_back({{e->mount(), name}, static_cast<double>(p.*field)});
        }
      });
}

}  // namespace

usage_gauges::usage_gauges(storage::physical& leases_store, const engine_router& engines, const clock& c)
    : store_(leases_store),
      engines_(engines),
      clock_(c),
      leases_(telemetry::global_registry(),
              {"credbroker.leases", "Leases per mount, role and state (pending, active, revoking, irrevocable).",
               metric_kind::gauge, {"mount", "role", "state"}}),
      irrevocable_(telemetry::global_registry(),
                   {"vault.expire.num_irrevocable_leases",
                    "Leases whose revocation failed max_attempts times; they stay listed and keep being retried.",
                    metric_kind::gauge}),
      backlog_(telemetry::global_registry(),
               {"credbroker.lease.revocation_backlog",
                "Leases whose revocation is due (expired, or due for a retry) and not done yet.", metric_kind::gauge}),
      next_due_(telemetry::global_registry(),
                {"credbroker.rotation.next_due_timestamp_seconds",
                 "When the next scheduled rotation of a root credential or static role is due (unix seconds).",
                 metric_kind::gauge, rotation_labels}),
      last_success_(telemetry::global_registry(),
                    {"credbroker.rotation.last_success_timestamp_seconds",
                     "When a root credential or static role was last rotated (unix seconds).", metric_kind::gauge,
                     rotation_labels}),
      failed_attempts_(telemetry::global_registry(),
                       {"credbroker.rotation.failed_attempts",
                        "Failed rotation attempts of a root credential or static role since its last success.",
                        metric_kind::gauge, rotation_labels}),
      duration_(telemetry::global_registry(),
                {"credbroker.usage_gauges.duration_seconds",
                 "How long the last census of leases and rotations took (telemetry.usage_gauge_period).",
                 metric_kind::gauge}) {
  pools_.push_back(watch_pools(engines, "credbroker.database.pool_open_connections",
                               "Database sessions the connection's plugin holds open, idle or lent.",
                               &plugin::pool_stats::open));
  pools_.push_back(watch_pools(engines, "credbroker.database.pool_in_use_connections",
                               "Database sessions lent to a call now.", &plugin::pool_stats::in_use));
  pools_.push_back(watch_pools(engines, "credbroker.database.pool_waiters",
                               "Calls waiting for a database session (the pool is at max_open_connections).",
                               &plugin::pool_stats::waiters));
  pools_.push_back(watch_pools(engines, "credbroker.database.pool_max_open_connections",
                               "The connection's max_open_connections.", &plugin::pool_stats::max_open));
}

void usage_gauges::refresh() {
  const telemetry::stopwatch sw;
  count_leases();
  count_rotations();
  duration_.replace({{{}, sw.seconds()}});
}

void usage_gauges::count_leases() {
  auto c = leases::count_leases(store_, clock_.now());
  if (!c) {
    spdlog::warn("lease census for the metrics failed: {}", c.err().message);
    return;
  }
  std::vector<telemetry::sample> by_role;
  for (const auto& [k, n] : c->by_role) {
    const auto& [mount, role, state] = k;
    by_role.push_back({{mount, role, leases::to_string(state)}, static_cast<double>(n)});
  }
  leases_.replace(std::move(by_role));
  irrevocable_.replace({{{}, static_cast<double>(c->irrevocable)}});
  backlog_.replace({{{}, static_cast<double>(c->backlog)}});
}

void usage_gauges::count_rotations() {
  std::vector<telemetry::sample> next, last, failed;
  auto add = [&](const std::string& mount, const char* kind, const std::string& name, const rotation_state& r) {
    if (r.next != time_point{}) next.push_back({{mount, kind, name}, unix_seconds(r.next)});
    if (r.last != time_point{}) last.push_back({{mount, kind, name}, unix_seconds(r.last)});
    failed.push_back({{mount, kind, name}, static_cast<double>(r.attempts)});
  };
  for (const auto& e : engines_.all()) {
    if (auto names = e->list_configs()) {
      for (const auto& name : *names) {
        auto c = e->read_config(name);
        if (c && *c) add(e->mount(), "root", name, (*c)->root_rotation);
      }
    }
    if (auto names = e->list_static_roles()) {
      for (const auto& name : *names) {
        auto r = e->read_static_role(name);
        if (r && *r) add(e->mount(), "static", name, (*r)->rotation);
      }
    }
  }
  next_due_.replace(std::move(next));
  last_success_.replace(std::move(last));
  failed_attempts_.replace(std::move(failed));
}

}  // namespace credbroker::engine
