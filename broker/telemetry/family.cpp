#include "broker/telemetry/family.hpp"

namespace credbroker::telemetry {
namespace {

bool same_values(const series_base& s, std::span<const std::string_view> values) {
  if (s.values.size() != values.size()) return false;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (s.values[i] != values[i]) return false;
  }
  return true;
}

constexpr std::size_t initial_slots = 16;  // a power of two; grown at half full

}  // namespace

const char* to_string(metric_kind k) {
  switch (k) {
    case metric_kind::counter: return "counter";
    case metric_kind::gauge: return "gauge";
    case metric_kind::histogram: return "histogram";
    case metric_kind::summary: return "summary";
  }
  return "untyped";
}

std::size_t hash_values(std::span<const std::string_view> values) noexcept {
  std::size_t h = 0x9e3779b97f4a7c15ULL ^ values.size();
  for (const auto v : values) {
    h ^= std::hash<std::string_view>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return h;
}

series_table::series_table() {
  auto t = std::make_unique<table>();
  t->mask = initial_slots - 1;
  t->slots.reset(new std::atomic<series_base*>[initial_slots]);
  for (std::size_t i = 0; i < initial_slots; ++i) t->slots[i].store(nullptr, std::memory_order_relaxed);
  current_.store(t.get(), std::memory_order_release);
  tables_.push_back(std::move(t));
}

series_table::~series_table() = default;

series_base* series_table::probe(const table& t, std::span<const std::string_view> values, std::size_t hash) noexcept {
  for (std::size_t i = hash & t.mask;; i = (i + 1) & t.mask) {
    series_base* s = t.slots[i].load(std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    if (s->hash == hash && same_values(*s, values)) return s;
  }
}

void series_table::place(table& t, series_base* s) noexcept {
  std::size_t i = s->hash & t.mask;
  while (t.slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & t.mask;
  t.slots[i].store(s, std::memory_order_release);
}

series_base* series_table::find(std::span<const std::string_view> values, std::size_t hash) const noexcept {
  return probe(*current_.load(std::memory_order_acquire), values, hash);
}

series_base* series_table::find_or_insert(std::span<const std::string_view> values, std::size_t hash,
                                          std::size_t max_series,
                                          const std::function<std::unique_ptr<series_base>()>& make) {
  std::lock_guard lock(writer_mu_);
  if (series_base* s = probe(*current_.load(std::memory_order_relaxed), values, hash)) return s;
  if (owned_.size() >= max_series && max_series > 0) {
    if (overflow_ == nullptr) {
      std::vector<std::string> other(values.size(), "_other");
      std::vector<std::string_view> views(other.begin(), other.end());
      overflow_ = insert_locked(views, hash_values(views), make);
    }
    return overflow_;
  }
  return insert_locked(values, hash, make);
}

series_base* series_table::insert_locked(std::span<const std::string_view> values, std::size_t hash,
                                         const std::function<std::unique_ptr<series_base>()>& make) {
  auto fresh = make();
  fresh->values.assign(values.begin(), values.end());
  fresh->hash = hash;
  series_base* s = fresh.get();
  owned_.push_back(std::move(fresh));
  table* t = current_.load(std::memory_order_relaxed);
  if (2 * owned_.size() > t->mask + 1) {
    // Grow: a new table with every series, published at once; the old one stays readable.
    auto bigger = std::make_unique<table>();
    const std::size_t n = 2 * (t->mask + 1);
    bigger->mask = n - 1;
    bigger->slots.reset(new std::atomic<series_base*>[n]);
    for (std::size_t i = 0; i < n; ++i) bigger->slots[i].store(nullptr, std::memory_order_relaxed);
    for (const auto& o : owned_) place(*bigger, o.get());
    current_.store(bigger.get(), std::memory_order_release);
    tables_.push_back(std::move(bigger));
  } else {
    place(*t, s);
  }
  return s;
}

std::vector<series_base*> series_table::all() const {
  std::lock_guard lock(writer_mu_);
  std::vector<series_base*> out;
  out.reserve(owned_.size());
  for (const auto& o : owned_) out.push_back(o.get());
  return out;
}

void family_base::wrong_label_count(std::size_t given) const {
  // A programming error (a call site disagrees with the family's definition): cannot happen.
  std::fprintf(stderr, "telemetry: %s takes %zu label values, given %zu\n", def_.key.c_str(), def_.label_names.size(),
               given);
  std::abort();
}

}  // namespace credbroker::telemetry
