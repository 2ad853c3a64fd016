#include "broker/telemetry/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "broker/telemetry/quantile.hpp"

namespace credbroker::telemetry {
namespace {

constexpr std::chrono::seconds quantile_window{10};  // go-metrics' Prometheus summaries: MaxAge 10 s
constexpr std::chrono::seconds mark_spacing{1};      // at most one window mark per series per second
constexpr double quantiles[] = {0.5, 0.9, 0.99};     // Vault's objectives

[[noreturn]] void conflict(const std::string& key, const char* what) {
  // Two call sites define one key differently: a programming error, cannot happen.
  std::fprintf(stderr, "telemetry: %s registered twice with different %s\n", key.c_str(), what);
  std::abort();
}

bool same_def(const family_def& a, const family_def& b) {
  return a.kind == b.kind && a.label_names == b.label_names && a.bounds == b.bounds && a.scale == b.scale &&
         a.options.labels_in_name == b.options.labels_in_name && a.options.name_prefix == b.options.name_prefix &&
         a.options.name_suffix == b.options.name_suffix;
}

void check_bounds(const family_def& d) {
  for (std::size_t i = 0; i < d.bounds.size(); ++i) {
    if (!std::isfinite(d.bounds[i]) || (i > 0 && d.bounds[i] <= d.bounds[i - 1])) conflict(d.key, "(invalid) bounds");
  }
}

std::string with_hostname(const std::string& key, const std::string& host) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) return key + "." + host;
  return key.substr(0, dot + 1) + host + key.substr(dot);
}

std::string name_from_values(const family_def& d, const std::vector<std::string>& values) {
  std::string key = d.options.name_prefix.empty() ? d.key : d.options.name_prefix;
  for (const auto& v : values) key += "." + v;
  if (!d.options.name_suffix.empty()) key += "." + d.options.name_suffix;
  return key;
}

// Quantiles over the window that ends now and starts at the newest mark at least 10 s old (or at
// the start, before one exists); then remembers the current counts as a mark.
std::vector<std::pair<double, double>> window_quantiles(series_base& s, const histogram::snapshot& now_snap,
                                                        const std::vector<double>& bounds,
                                                        std::chrono::steady_clock::time_point now) {
  std::size_t base = s.marks.size();
  for (std::size_t i = s.marks.size(); i-- > 0;) {
    if (s.marks[i].first <= now - quantile_window) {
      base = i;
      break;
    }
  }
  std::vector<std::uint64_t> window = now_snap.counts;
  if (base < s.marks.size()) {
    const auto& old = s.marks[base].second;
    for (std::size_t i = 0; i < window.size() && i < old.size(); ++i) window[i] = window[i] >= old[i] ? window[i] - old[i] : 0;
    s.marks.erase(s.marks.begin(), s.marks.begin() + static_cast<std::ptrdiff_t>(base));
  }
  std::vector<std::pair<double, double>> out;
  for (const double q : quantiles) out.emplace_back(q, bucket_quantile(q, bounds, window, now_snap.min, now_snap.max));
  if (s.marks.empty() || now - s.marks.back().first >= mark_spacing) s.marks.emplace_back(now, now_snap.counts);
  return out;
}

}  // namespace

registration& registration::operator=(registration&& o) noexcept {
  if (this != &o) {
    reset();
    r_ = o.r_;
    id_ = o.id_;
    o.r_ = nullptr;
  }
  return *this;
}

void registration::reset() {
  if (r_ != nullptr) r_->remove(id_);
  r_ = nullptr;
}

registry::registry() : created_(std::chrono::steady_clock::now()) {}
registry::~registry() = default;

family_base& registry::define(family_def def, const std::function<std::unique_ptr<family_base>(family_def)>& make) {
  check_bounds(def);
  std::lock_guard lock(families_mu_);
  auto it = families_.find(def.key);
  if (it != families_.end()) {
    if (!same_def(it->second->def(), def)) conflict(def.key, "definitions");
    return *it->second;
  }
  const std::string key = def.key;
  return *families_.emplace(key, make(std::move(def))).first->second;
}

family<counter>& registry::counters(std::string key, std::string help, std::vector<std::string> labels,
                                    family_options o) {
  family_def d{std::move(key), std::move(help), metric_kind::counter, std::move(labels), std::move(o), {}, 1.0};
  return static_cast<family<counter>&>(
      define(std::move(d), [](family_def x) { return std::make_unique<family<counter>>(std::move(x)); }));
}

family<gauge>& registry::gauges(std::string key, std::string help, std::vector<std::string> labels, family_options o) {
  family_def d{std::move(key), std::move(help), metric_kind::gauge, std::move(labels), std::move(o), {}, 1.0};
  return static_cast<family<gauge>&>(
      define(std::move(d), [](family_def x) { return std::make_unique<family<gauge>>(std::move(x)); }));
}

family<histogram>& registry::histograms(std::string key, std::string help, std::vector<std::string> labels,
                                        std::vector<double> bounds, family_options o) {
  family_def d{std::move(key), std::move(help), metric_kind::histogram, std::move(labels), std::move(o),
               std::move(bounds), 1.0};
  return static_cast<family<histogram>&>(
      define(std::move(d), [](family_def x) { return std::make_unique<family<histogram>>(std::move(x)); }));
}

family<histogram>& registry::summaries(std::string key, std::string help, std::vector<std::string> labels,
                                       double scale, family_options o) {
  family_def d{std::move(key), std::move(help), metric_kind::summary, std::move(labels), std::move(o),
               summary_bounds(), scale};
  return static_cast<family<histogram>&>(
      define(std::move(d), [](family_def x) { return std::make_unique<family<histogram>>(std::move(x)); }));
}

registration registry::on_collect(family_def def, collect_callback f) {
  if (def.kind != metric_kind::counter && def.kind != metric_kind::gauge) conflict(def.key, "kinds (callbacks give counters or gauges)");
  auto e = std::make_shared<callback_entry>();
  e->def = std::move(def);
  e->f = std::move(f);
  std::lock_guard lock(callbacks_mu_);
  const std::uint64_t id = next_id_++;
  callbacks_.emplace(id, std::move(e));
  return registration(this, id);
}

void registry::remove(std::uint64_t id) {
  std::shared_ptr<callback_entry> e;
  {
    std::lock_guard lock(callbacks_mu_);
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) return;
    e = std::move(it->second);
    callbacks_.erase(it);
  }
  std::lock_guard run(e->run_mu);  // a collection running it finishes first
  e->removed = true;
}

void registry::collect_family(const family_base& f, const collect_options& o, exposition& out) const {
  const family_def& d = f.def();
  const bool labelled = !d.label_names.empty();
  exposed_family whole{d.key, d.help, d.kind, d.bounds, {}};
  for (series_base* s : f.series()) {
    exposed_point p;
    double change = 0;
    switch (d.kind) {
      case metric_kind::counter:
        p.value = static_cast<double>(family<counter>::metric_of(s).value());
        change = p.value;
        break;
      case metric_kind::gauge:
        p.value = family<gauge>::metric_of(s).value();
        change = p.value;
        break;
      case metric_kind::histogram:
      case metric_kind::summary:
        p.hist = family<histogram>::metric_of(s).read();
        change = static_cast<double>(p.hist.count);
        break;
    }
    if (labelled) {
      if (std::isnan(s->seen) || s->seen != change) {
        s->seen = change;
        s->changed = o.now;
      }
      if (o.retention.count() > 0 && o.now - s->changed > o.retention) continue;
    }
    if (d.kind == metric_kind::summary) p.quantiles = window_quantiles(*s, p.hist, d.bounds, o.now);
    if (d.options.labels_in_name) {
      out.families.push_back({name_from_values(d, s->values), d.help, d.kind, d.bounds, {std::move(p)}});
      continue;
    }
    for (std::size_t i = 0; i < d.label_names.size(); ++i) p.labels.emplace_back(d.label_names[i], s->values[i]);
    whole.points.push_back(std::move(p));
  }
  if (!whole.points.empty()) out.families.push_back(std::move(whole));
}

exposition registry::collect(const collect_options& o) const {
  exposition out;
  out.uptime_seconds = std::chrono::duration<double>(o.now - created_).count();
  std::lock_guard collecting(collect_mu_);
  std::vector<const family_base*> fams;
  {
    std::lock_guard lock(families_mu_);
    for (const auto& [_, f] : families_) fams.push_back(f.get());
  }
  for (const family_base* f : fams) collect_family(*f, o, out);

  std::vector<std::shared_ptr<callback_entry>> cbs;
  {
    std::lock_guard lock(callbacks_mu_);
    for (const auto& [_, e] : callbacks_) cbs.push_back(e);
  }
  for (const auto& e : cbs) {
    std::vector<sample> samples;
    {
      std::lock_guard run(e->run_mu);
      if (e->removed) continue;
      e->f(samples);
    }
    exposed_family fam{e->def.key, e->def.help, e->def.kind, {}, {}};
    for (auto& s : samples) {
      if (s.values.size() != e->def.label_names.size()) continue;
      exposed_point p;
      p.value = s.value;
      for (std::size_t i = 0; i < s.values.size(); ++i) p.labels.emplace_back(e->def.label_names[i], std::move(s.values[i]));
      fam.points.push_back(std::move(p));
    }
    if (!fam.points.empty()) out.families.push_back(std::move(fam));
  }

  if (!o.hostname.empty()) {
    for (auto& f : out.families) {
      if (f.kind == metric_kind::gauge) f.key = with_hostname(f.key, o.hostname);
    }
  }
  std::stable_sort(out.families.begin(), out.families.end(),
                   [](const exposed_family& a, const exposed_family& b) { return a.key < b.key; });
  // One family per key: series of the same key and kind (two callbacks, or a family and a callback)
  // are merged; a second kind under a key is dropped (it could not be rendered validly).
  std::vector<exposed_family> merged;
  for (auto& f : out.families) {
    if (!merged.empty() && merged.back().key == f.key) {
      if (merged.back().kind == f.kind) {
        for (auto& p : f.points) merged.back().points.push_back(std::move(p));
      }
      continue;
    }
    merged.push_back(std::move(f));
  }
  out.families = std::move(merged);
  return out;
}

registry& global_registry() {
  static registry* const r = new registry();  // never destroyed: see the header
  return *r;
}

const std::vector<double>& summary_bounds() {
  static const std::vector<double> b = [] {
    std::vector<double> v;
    for (int e = -2; e <= 5; ++e) {
      for (const char* m : {"1", "1.5", "2", "3", "5", "7"}) {
        v.push_back(std::strtod((std::string(m) + "e" + std::to_string(e)).c_str(), nullptr));
      }
    }
    v.push_back(1e6);
    return v;
  }();
  return b;
}

}  // namespace credbroker::telemetry
