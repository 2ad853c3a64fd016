#pragma once
// registry: the named families of a process, the series computed at scrape time, and collection.
//
//   auto& served = r.counters("credbroker.http.requests_total", "HTTP requests answered", {"code"});
//   served.with({"200"}).inc();                                   // hot path: family.hpp
//   auto reg = r.on_collect({"vault.expire.num_leases", "...", metric_kind::gauge},
//                           [&m](std::vector<sample>& out) { out.push_back({{}, double(m.count())}); });
//   exposition e = r.collect({});                                 // then render_prometheus(e) ...
//
// Keys are Vault's dotted names; a second registration of a key with the same definition returns
// the family already there (call sites may each declare what they use), a different definition is
// a programming error and ends the process.
//
// Scrape-time series (on_collect) cost nothing between scrapes: counts a component keeps anyway
// (lease_manager::count(), a pool's size) are read when someone asks. The returned registration
// removes the callback when destroyed, waiting for a collection that is running it.
//
// Collection (collect_options):
//   retention > 0  a labelled series whose value has not changed for that long is left out (Vault's
//                  prometheus_retention_time: the series of a removed mount or role go away);
//                  series without labels and scrape-time series are always there
//   hostname       inserted after the first segment of every gauge's key, as Vault does unless
//                  telemetry.disable_hostname ("vault.core.unsealed" -> "vault.<host>.core.unsealed")
//   summaries      get quantiles 0.5, 0.9 and 0.99 over the observations of the last 10 s or more
//                  (since the newest collection at least 10 s ago), interpolated in their buckets:
//                  Vault's summaries keep 10 s windows too. NaN when nothing was observed.
//
// Thread: all methods are safe concurrently. Locks: families_mu_ (the family map), callbacks_mu_
// (the callback list), collect_mu_ (retention and quantile state, held across one collection), and
// each callback's own run lock (held while it runs; a callback must not register or unregister
// callbacks). Order: collect_mu_ -> families_mu_ | callbacks_mu_ -> a callback's run lock.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/telemetry/exposition.hpp"
#include "broker/telemetry/family.hpp"

namespace credbroker::telemetry {

struct sample {
  std::vector<std::string> values;  // one per label name of the callback's family
  double value = 0;
};
using collect_callback = std::function<void(std::vector<sample>&)>;

struct collect_options {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  std::chrono::seconds retention{0};  // 0: keep every series
  std::string hostname;               // empty: no hostname in gauge names
};

class registry;

// Removes its callback when destroyed. Movable; an empty registration does nothing.
class registration {
 public:
  registration() = default;
  registration(registration&& o) noexcept : r_(o.r_), id_(o.id_) { o.r_ = nullptr; }
  registration& operator=(registration&& o) noexcept;
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
  ~registration() { reset(); }
  void reset();

 private:
  friend class registry;
  registration(registry* r, std::uint64_t id) : r_(r), id_(id) {}
  registry* r_ = nullptr;
  std::uint64_t id_ = 0;
};

class registry {
 public:
  registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  family<counter>& counters(std::string key, std::string help, std::vector<std::string> labels = {},
                            family_options o = {});
  family<gauge>& gauges(std::string key, std::string help, std::vector<std::string> labels = {},
                        family_options o = {});
  // bounds: strictly increasing and finite (+Inf is implied).
  family<histogram>& histograms(std::string key, std::string help, std::vector<std::string> labels,
                                std::vector<double> bounds, family_options o = {});
  // Vault's timers: observed in seconds, kept multiplied by `scale` (1000: milliseconds, Vault's unit)
  // in fine logarithmic buckets, rendered as a summary.
  family<histogram>& summaries(std::string key, std::string help, std::vector<std::string> labels = {},
                               double scale = 1000.0, family_options o = {});

  // def.kind: counter or gauge. The callback appends one sample per series.
  [[nodiscard]] registration on_collect(family_def def, collect_callback f);

  exposition collect(const collect_options& o) const;

 private:
  friend class registration;
  struct callback_entry {
    family_def def;
    collect_callback f;
    std::mutex run_mu;  // held while f runs; unregistering takes it, so it waits for a run
    bool removed = false;
  };
  family_base& define(family_def def, const std::function<std::unique_ptr<family_base>(family_def)>& make);
  void remove(std::uint64_t id);
  void collect_family(const family_base& f, const collect_options& o, exposition& out) const;

  const std::chrono::steady_clock::time_point created_;
  mutable std::mutex families_mu_;
  std::map<std::string, std::unique_ptr<family_base>> families_;  // guarded by families_mu_
  mutable std::mutex callbacks_mu_;
  std::map<std::uint64_t, std::shared_ptr<callback_entry>> callbacks_;  // guarded by callbacks_mu_
  std::uint64_t next_id_ = 1;                                           // guarded by callbacks_mu_
  mutable std::mutex collect_mu_;  // series_base::seen/changed/marks of every series
};

// The process's registry: every component of the server reports into it, sys/metrics renders it.
// Never destroyed (components may report while the process exits).
registry& global_registry();

// Fine logarithmic bounds for summaries, in milliseconds: 0.01 ms .. 600 s, six per decade.
const std::vector<double>& summary_bounds();

}  // namespace credbroker::telemetry
