#pragma once
// family: one metric name with label names, and a series (metric.hpp) per set of label values,
// created on first use and kept for the life of the family (so a reference to a series stays valid).
//
//   family<counter>& f = registry.counters("credbroker.http.requests_total", "...", {"code"});
//   f.with({"200"}).inc();      // lock-free lookup: a hash of the values, then an open-addressing
//                               // probe of an immutable-once-published table (no lock, no allocation)
//   f.get()                     // the one series of a family without labels
//
// New label values take the writer lock once (insert, growing the table by publishing a new one;
// readers that still hold the old table miss the new series and find it under the lock). At most
// max_series series exist; further label sets all share one overflow series whose every label is
// "_other" (a safeguard: label values come from mounts, roles and status codes, never from input).
//
// Thread: with()/get() from any thread; series() (for collection) too. Lock order: a family's
// writer lock is a leaf (nothing is called under it but allocation).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/telemetry/metric.hpp"

namespace credbroker::telemetry {

enum class metric_kind {
  counter,
  gauge,
  histogram,  // rendered as a Prometheus histogram
  summary,    // a histogram rendered as Vault's timers are: a Prometheus summary (quantiles over the last 10 s)
};
const char* to_string(metric_kind k);

struct family_options {
  // Vault's per-name metrics: each series is a metric of its own, named key.<value>...[.suffix] and
  // carrying no labels ("vault.route" + {"read", "database-"} -> "vault.route.read.database-").
  bool labels_in_name = false;
  std::string name_prefix;  // with labels_in_name: the name's first segments, when not the key (two
                            // families of one prefix: "vault.database" by op, and by type and op)
  std::string name_suffix;  // with labels_in_name: a last name segment ("error")
  std::size_t max_series = 1000;
};

// What the registry knows of a family; the key is Vault's dotted name ("vault.core.unsealed"), from
// which both renderings derive theirs (prometheus_text.hpp, vault_json.hpp).
struct family_def {
  family_def() = default;
  family_def(std::string k, std::string h, metric_kind kd, std::vector<std::string> labels = {}, family_options o = {},
             std::vector<double> b = {}, double sc = 1.0)
      : key(std::move(k)), help(std::move(h)), kind(kd), label_names(std::move(labels)), options(std::move(o)),
        bounds(std::move(b)), scale(sc) {}
  std::string key;
  std::string help;
  metric_kind kind = metric_kind::counter;
  std::vector<std::string> label_names;
  family_options options;
  std::vector<double> bounds;  // histogram, summary
  double scale = 1.0;          // summary: observed values are multiplied by it (1000: seconds -> ms)
};

// One series and what collection remembers about it (guarded by the registry's collection lock).
struct series_base {
  std::vector<std::string> values;
  std::size_t hash = 0;
  double seen = std::nan("");                          // the value (or count) at the last collection ...
  std::chrono::steady_clock::time_point changed{};     // ... and when it last changed (retention)
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::vector<std::uint64_t>>> marks;  // summaries
  virtual ~series_base() = default;
};

std::size_t hash_values(std::span<const std::string_view> values) noexcept;

class series_table {
 public:
  series_table();
  ~series_table();
  series_table(const series_table&) = delete;
  series_table& operator=(const series_table&) = delete;

  series_base* find(std::span<const std::string_view> values, std::size_t hash) const noexcept;
  series_base* find_or_insert(std::span<const std::string_view> values, std::size_t hash, std::size_t max_series,
                              const std::function<std::unique_ptr<series_base>()>& make);
  std::vector<series_base*> all() const;

 private:
  struct table {
    std::size_t mask;
    std::unique_ptr<std::atomic<series_base*>[]> slots;
  };
  static series_base* probe(const table& t, std::span<const std::string_view> values, std::size_t hash) noexcept;
  static void place(table& t, series_base* s) noexcept;
  series_base* insert_locked(std::span<const std::string_view> values, std::size_t hash,
                             const std::function<std::unique_ptr<series_base>()>& make);

  std::atomic<table*> current_;
  mutable std::mutex writer_mu_;                       // guards owned_, tables_, overflow_ and inserts
  std::vector<std::unique_ptr<series_base>> owned_;    // in creation order
  std::vector<std::unique_ptr<table>> tables_;         // every table published: readers may hold old ones
  series_base* overflow_ = nullptr;
};

class family_base {
 public:
  explicit family_base(family_def def) : def_(std::move(def)) {}
  virtual ~family_base() = default;
  const family_def& def() const { return def_; }
  std::vector<series_base*> series() const { return table_.all(); }

 protected:
  series_base* lookup(std::span<const std::string_view> values) {
    if (values.size() != def_.label_names.size()) wrong_label_count(values.size());
    const std::size_t h = hash_values(values);
    if (series_base* s = table_.find(values, h)) return s;
    return table_.find_or_insert(values, h, def_.options.max_series, [this] { return make(); });
  }
  virtual std::unique_ptr<series_base> make() const = 0;

 private:
  [[noreturn]] void wrong_label_count(std::size_t given) const;
  family_def def_;
  series_table table_;
};

template <class M>
class family final : public family_base {
 public:
  struct node final : series_base {
    template <class... A>
    explicit node(A&&... a) : metric(std::forward<A>(a)...) {}
    M metric;
  };

  explicit family(family_def def) : family_base(std::move(def)) {
    if (this->def().label_names.empty()) only_ = &static_cast<node*>(lookup(std::span<const std::string_view>{}))->metric;
  }

  M& with(std::initializer_list<std::string_view> values) { return with(std::span(values.begin(), values.size())); }
  M& with(std::span<const std::string_view> values) { return static_cast<node*>(lookup(values))->metric; }
  M& get() { return *only_; }  // families without labels only

  static const M& metric_of(const series_base* s) { return static_cast<const node*>(s)->metric; }

 private:
  std::unique_ptr<series_base> make() const override {
    if constexpr (std::is_same_v<M, histogram>) {
      return std::make_unique<node>(bounds_ptr(), def().scale);
    } else {
      return std::make_unique<node>();
    }
  }
  std::shared_ptr<const std::vector<double>> bounds_ptr() const {
    std::call_once(bounds_once_, [this] { bounds_ = std::make_shared<const std::vector<double>>(def().bounds); });
    return bounds_;
  }
  M* only_ = nullptr;
  mutable std::once_flag bounds_once_;
  mutable std::shared_ptr<const std::vector<double>> bounds_;
};

}  // namespace credbroker::telemetry
