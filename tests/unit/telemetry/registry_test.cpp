// registry, families and collection (broker/telemetry/registry.hpp, family.hpp, gauge_set.hpp).
#include "broker/telemetry/registry.hpp"

#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "broker/telemetry/gauge_set.hpp"
#include "broker/telemetry/quantile.hpp"

namespace credbroker::telemetry {
namespace {

using namespace std::chrono_literals;

family_options capped(std::size_t n) {
  family_options o;
  o.max_series = n;
  return o;
}

family_options in_name(std::string suffix = {}) {
  family_options o;
  o.labels_in_name = true;
  o.name_suffix = std::move(suffix);
  return o;
}

collect_options at(std::chrono::steady_clock::time_point t, std::chrono::seconds retention = 0s) {
  collect_options o;
  o.now = t;
  o.retention = retention;
  return o;
}

const exposed_family* find(const exposition& e, const std::string& key) {
  for (const auto& f : e.families) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

TEST(Family, SameLabelValuesGiveTheSameSeries) {
  registry r;
  auto& f = r.counters("t.requests_total", "help", {"code", "method"});
  counter& a = f.with({"200", "GET"});
  EXPECT_EQ(&a, &f.with({"200", "GET"}));
  EXPECT_NE(&a, &f.with({"200", "PUT"}));
  EXPECT_NE(&a, &f.with({"GET", "200"}));
  a.inc();
  f.with({"200", "GET"}).inc();
  EXPECT_EQ(a.value(), 2u);
}

TEST(Family, ManySeriesSurviveTableGrowthWhileReadersLookUp) {
  registry r;
  auto& f = r.counters("t.grow_total", "help", {"n"}, capped(100000));
  std::atomic<bool> stop{false};
  counter& first = f.with({"0"});
  std::thread reader([&] {
    while (!stop.load()) {
      if (&f.with({"0"}) != &first) std::abort();  // the same series, through every table
    }
  });
  for (int i = 0; i < 5000; ++i) f.with({std::to_string(i)}).inc();
  stop = true;
  reader.join();
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(f.with({std::to_string(i)}).value(), 1u) << i;
  EXPECT_EQ(f.series().size(), 5000u);
}

TEST(Family, BeyondMaxSeriesEverythingSharesTheOverflowSeries) {
  registry r;
  auto& f = r.counters("t.capped_total", "help", {"mount", "role"}, capped(2));
  f.with({"a/", "x"}).inc();
  f.with({"b/", "x"}).inc();
  f.with({"c/", "x"}).inc();
  f.with({"d/", "y"}).inc();
  EXPECT_EQ(&f.with({"c/", "x"}), &f.with({"e/", "z"}));
  const auto e = r.collect({});
  const auto* fam = find(e, "t.capped_total");
  ASSERT_NE(fam, nullptr);
  ASSERT_EQ(fam->points.size(), 3u);
  EXPECT_EQ(fam->points[2].labels, (std::vector<std::pair<std::string, std::string>>{{"mount", "_other"}, {"role", "_other"}}));
  EXPECT_EQ(fam->points[2].value, 2);
}

TEST(Registry, RedefiningAKeyTheSameWayReturnsTheSameFamily) {
  registry r;
  auto& a = r.counters("t.x_total", "help", {"l"});
  auto& b = r.counters("t.x_total", "help", {"l"});
  EXPECT_EQ(&a, &b);
}

TEST(RegistryDeathTest, RedefiningAKeyDifferentlyEndsTheProcess) {
  registry r;
  r.counters("t.y_total", "help", {"l"});
  EXPECT_DEATH(r.counters("t.y_total", "help", {"other"}), "registered twice");
  EXPECT_DEATH(r.histograms("t.h", "help", {}, {1, 1}), "bounds");
  auto& f = r.counters("t.z_total", "help", {"a", "b"});
  EXPECT_DEATH(f.with({"only-one"}), "takes 2 label values, given 1");
}

TEST(Registry, CollectSortsFamiliesAndLeavesOutEmptyOnes) {
  registry r;
  r.gauges("t.b", "b help").get().set(2);
  r.counters("t.a_total", "a help").get().add(3);
  r.counters("t.empty_total", "no series yet", {"l"});
  const auto e = r.collect({});
  ASSERT_EQ(e.families.size(), 2u);
  EXPECT_EQ(e.families[0].key, "t.a_total");
  EXPECT_EQ(e.families[0].points[0].value, 3);
  EXPECT_EQ(e.families[1].key, "t.b");
  EXPECT_EQ(e.families[1].help, "b help");
}

TEST(Registry, LabelsInNameSplitAFamilyIntoOneMetricPerSeries) {
  registry r;
  auto& route = r.summaries("vault.route", "route", {"operation", "mount"});
  route.with({"read", "database-"}).observe(0.002);
  auto& errors = r.counters("vault.database", "errors", {"operation"}, in_name("error"));
  errors.with({"NewUser"}).inc();
  // Without labels_in_name the summary keeps its labels; a second family shows the split.
  auto& split = r.summaries("vault.split", "split", {"operation", "mount"}, 1000, in_name());
  split.with({"update", "team-db-"}).observe(0.5);
  const auto e = r.collect({});
  ASSERT_NE(find(e, "vault.route"), nullptr);
  const auto* err = find(e, "vault.database.NewUser.error");
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(err->points[0].labels.empty());
  const auto* s = find(e, "vault.split.update.team-db-");
  ASSERT_NE(s, nullptr);
  EXPECT_DOUBLE_EQ(s->points[0].hist.sum, 500);  // seconds -> milliseconds
}

TEST(Registry, CallbacksRunAtCollectionAndStopWithTheirRegistration) {
  registry r;
  int calls = 0;
  {
    auto reg = r.on_collect({"t.live", "scrape time", metric_kind::gauge, {"state"}}, [&calls](std::vector<sample>& out) {
      ++calls;
      out.push_back({{"active"}, 7});
      out.push_back({{"wrong", "arity"}, 1});  // dropped
    });
    const auto e = r.collect({});
    const auto* f = find(e, "t.live");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->points.size(), 1u);
    EXPECT_EQ(f->points[0].labels[0], (std::pair<std::string, std::string>{"state", "active"}));
    EXPECT_EQ(f->points[0].value, 7);
  }
  const auto after = r.collect({});
  EXPECT_EQ(find(after, "t.live"), nullptr);
  EXPECT_EQ(calls, 1);
}

TEST(Registry, UnregisteringWaitsForARunningCallback) {
  registry r;
  std::atomic<bool> inside{false}, release{false}, removing{false}, removed{false}, removed_while_running{false};
  auto reg = std::make_unique<registration>(r.on_collect({"t.slow", "h", metric_kind::gauge}, [&](std::vector<sample>& out) {
    inside = true;
    while (!release) std::this_thread::yield();
    removed_while_running = removed.load();
    out.push_back({{}, 1});
  }));
  std::thread collector([&r] { (void)r.collect({}); });
  while (!inside) std::this_thread::yield();
  std::thread remover([&] {
    removing = true;
    reg.reset();
    removed = true;
  });
  while (!removing) std::this_thread::yield();
  release = true;
  collector.join();
  remover.join();
  EXPECT_FALSE(removed_while_running.load());
  EXPECT_TRUE(removed.load());
}

TEST(Registry, RetentionLeavesOutLabelledSeriesThatStoppedChanging) {
  registry r;
  auto& labelled = r.counters("t.routes_total", "h", {"mount"});
  auto& plain = r.counters("t.plain_total", "h");
  labelled.with({"old/"}).inc();
  labelled.with({"busy/"}).inc();
  plain.get().inc();
  const auto t0 = std::chrono::steady_clock::now();
  (void)r.collect(at(t0, 60s));
  labelled.with({"busy/"}).inc();
  const auto e = r.collect(at(t0 + 61s, 60s));
  const auto* f = find(e, "t.routes_total");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->points.size(), 1u);
  EXPECT_EQ(f->points[0].labels[0].second, "busy/");
  EXPECT_NE(find(e, "t.plain_total"), nullptr);  // no labels: always there
  const auto kept = r.collect(at(t0 + 62s));
  EXPECT_EQ(find(kept, "t.routes_total")->points.size(), 2u);  // retention 0 keeps everything
}

TEST(Registry, HostnameGoesIntoGaugeNamesOnly) {
  registry r;
  r.gauges("vault.core.unsealed", "h").get().set(1);
  r.counters("vault.token.creation", "h").get().inc();
  collect_options o;
  o.hostname = "node-1";
  const auto e = r.collect(o);
  EXPECT_NE(find(e, "vault.node-1.core.unsealed"), nullptr);
  EXPECT_NE(find(e, "vault.token.creation"), nullptr);
}

TEST(Registry, SummaryQuantilesCoverTheLastTenSeconds) {
  registry r;
  auto& s = r.summaries("t.timer", "h");
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) s.get().observe(0.1);  // 100 ms
  auto e = r.collect(at(t0));
  auto q = find(e, "t.timer")->points[0].quantiles;
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].first, 0.5);
  EXPECT_DOUBLE_EQ(q[0].second, 100);  // clamped to the one value observed
  // 11 s later, only new observations count in the window; the sum and count stay cumulative.
  for (int i = 0; i < 100; ++i) s.get().observe(0.002);
  e = r.collect(at(t0 + 11s));
  const auto& p = find(e, "t.timer")->points[0];
  EXPECT_LE(p.quantiles[2].second, 3.0);  // the 99th percentile of the last window: about 2 ms
  EXPECT_GE(p.quantiles[2].second, 2.0);
  EXPECT_EQ(p.hist.count, 200u);
  // Nothing observed in the next window: NaN, as Vault's summaries answer.
  e = r.collect(at(t0 + 22s));
  EXPECT_TRUE(std::isnan(find(e, "t.timer")->points[0].quantiles[0].second));
}

TEST(Registry, SummaryBoundsAreIncreasingWithSixPerDecade) {
  const auto& b = summary_bounds();
  ASSERT_GT(b.size(), 40u);
  EXPECT_EQ(b.front(), 0.01);
  EXPECT_EQ(b[1], 0.015);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(Quantile, InterpolatesInsideTheBucketAndClamps) {
  const std::vector<double> bounds = {1, 2, 4};
  const std::vector<std::uint64_t> counts = {0, 4, 4, 0};
  EXPECT_DOUBLE_EQ(bucket_quantile(0.5, bounds, counts, 1.2, 4), 2);
  EXPECT_DOUBLE_EQ(bucket_quantile(0.75, bounds, counts, 1.2, 4), 3);
  EXPECT_DOUBLE_EQ(bucket_quantile(0.0, bounds, counts, 1.2, 4), 1.2);
  EXPECT_DOUBLE_EQ(bucket_quantile(0.99, {1}, {0, 10}, 0.5, 9), 1 + 8 * 0.99);  // the +Inf bucket ends at the max
  EXPECT_TRUE(std::isnan(bucket_quantile(0.5, bounds, {0, 0, 0, 0}, 0, 0)));
}

TEST(GaugeSet, ReplacesTheWholeSet) {
  registry r;
  gauge_set g(r, {"t.leases", "h", metric_kind::gauge, {"role"}});
  EXPECT_EQ(find(r.collect({}), "t.leases"), nullptr);  // nothing before the first census
  g.replace({{{"app"}, 3}, {{"cache"}, 1}});
  EXPECT_EQ(find(r.collect({}), "t.leases")->points.size(), 2u);
  g.replace({{{"app"}, 4}});
  const auto e = r.collect({});
  ASSERT_EQ(find(e, "t.leases")->points.size(), 1u);
  EXPECT_EQ(find(e, "t.leases")->points[0].value, 4);
}

}  // namespace
}  // namespace credbroker::telemetry
