// metered_revoker (leases/metered_revoker.hpp): forwards to the engine's revoker and counts outcomes,
// retries, exhausted leases and the expiry lag.
#include "leases/metered_revoker.hpp"

#include <gtest/gtest.h>

#include "support/metrics.hpp"

using namespace credbroker;
using std::chrono::seconds;
using test::metric_count;
using test::metric_value;

namespace {

struct scripted_revoker final : leases::revoker {
  status revoke(const leases::lease& l) override {
    revoked.push_back(l.id);
    return fail ? status(make_error(errc::unavailable, "database down")) : status(ok_v);
  }
  status renew(const leases::lease& l, time_point t) override {
    renewed.emplace_back(l.id, t);
    return ok_v;
  }
  bool fail = false;
  std::vector<std::string> revoked;
  std::vector<std::pair<std::string, time_point>> renewed;
};

leases::lease lease_at(time_point expire, int attempts = 0, leases::lease_state state = leases::lease_state::active) {
  leases::lease l;
  l.id = "database/creds/app/X";
  l.expire_time = expire;
  l.attempts = attempts;
  l.state = state;
  return l;
}

telemetry::histogram::snapshot lag() {
  const auto p = test::metric_point("credbroker.lease.expiry_lag_seconds");
  return p ? p->hist : telemetry::histogram::snapshot{};
}

struct metered_revoker_test : ::testing::Test {
  scripted_revoker inner;
  fake_clock clock{time_point{seconds{1'800'000'000}}};
  leases::metered_revoker r{inner, clock, 3};
};

TEST_F(metered_revoker_test, forwards_and_counts_outcomes) {
  const double ok0 = metric_value("credbroker.lease.revocations_total", {{"outcome", "success"}});
  const double failed0 = metric_value("credbroker.lease.revocations_total", {{"outcome", "failure"}});
  const auto timed0 = metric_count("vault.expire.revoke");
  EXPECT_TRUE(r.revoke(lease_at(clock.now() + seconds{60})));
  inner.fail = true;
  const auto s = r.revoke(lease_at(clock.now() + seconds{60}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.err().message, "database down");
  EXPECT_EQ(inner.revoked.size(), 2u);
  EXPECT_EQ(metric_value("credbroker.lease.revocations_total", {{"outcome", "success"}}), ok0 + 1);
  EXPECT_EQ(metric_value("credbroker.lease.revocations_total", {{"outcome", "failure"}}), failed0 + 1);
  EXPECT_EQ(metric_count("vault.expire.revoke"), timed0 + 2);
  EXPECT_EQ(metric_value("credbroker.lease.revocations_in_flight"), 0);
}

TEST_F(metered_revoker_test, retries_and_exhausted_leases) {
  const double retries0 = metric_value("credbroker.lease.revocation_retries_total");
  const double exhausted0 = metric_value("credbroker.leases.marked_irrevocable_total");
  inner.fail = true;
  const auto due = clock.now() - seconds{5};
  (void)r.revoke(lease_at(due, 0));  // first attempt
  (void)r.revoke(lease_at(due, 1, leases::lease_state::revoking));
  (void)r.revoke(lease_at(due, 2, leases::lease_state::revoking));  // the third failure of max 3: irrevocable
  (void)r.revoke(lease_at(due, 3, leases::lease_state::irrevocable));  // already irrevocable: not again
  EXPECT_EQ(metric_value("credbroker.lease.revocation_retries_total"), retries0 + 3);
  EXPECT_EQ(metric_value("credbroker.leases.marked_irrevocable_total"), exhausted0 + 1);
}

TEST_F(metered_revoker_test, expiry_lag_only_for_first_attempts_of_expired_leases) {
  const auto before = lag();
  (void)r.revoke(lease_at(clock.now() - seconds{2}));   // expired 2 s ago: lag 2 s
  (void)r.revoke(lease_at(clock.now() + seconds{60}));  // revoked before its expiry: no lag
  (void)r.revoke(lease_at(clock.now() - seconds{90}, 1, leases::lease_state::revoking));  // a retry: no lag
  const auto after = lag();
  EXPECT_EQ(after.count, before.count + 1);
  EXPECT_DOUBLE_EQ(after.sum - before.sum, 2.0);
}

TEST_F(metered_revoker_test, renew_forwards_and_is_timed) {
  const auto timed0 = metric_count("vault.expire.renew");
  const auto t = clock.now() + seconds{3600};
  EXPECT_TRUE(r.renew(lease_at(clock.now() + seconds{60}), t));
  ASSERT_EQ(inner.renewed.size(), 1u);
  EXPECT_EQ(inner.renewed[0].second, t);
  EXPECT_EQ(metric_count("vault.expire.renew"), timed0 + 1);
}

}  // namespace
