#include <gtest/gtest.h>

#include <map>
#include <random>
#include <unordered_map>
#include <vector>

#include "broker/core/scheduler.hpp"

using namespace credbroker;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const time_point t0{seconds{1'800'000'000}};

// Records what each dispatch handed a client.
struct recorder {
  std::vector<scheduler::fired> got;
  scheduler::on_due fn() {
    return [this](std::span<const scheduler::fired> due) { got.insert(got.end(), due.begin(), due.end()); };
  }
};

TEST(scheduler, worked_example_from_the_header) {
  scheduler s(t0);
  recorder leases;
  const auto c = s.add_client("leases", leases.fn());
  const auto entry = s.schedule(c, 7, t0 + seconds{10} + milliseconds{50});
  EXPECT_EQ(s.next_wakeup(), t0 + milliseconds{10'100});  // its tick: rounded up
  EXPECT_EQ(s.advance(t0 + milliseconds{10'090}), 0u);      // tick 100: not yet
  EXPECT_TRUE(leases.got.empty());
  EXPECT_EQ(s.advance(t0 + milliseconds{10'100}), 1u);
  ASSERT_EQ(leases.got.size(), 1u);
  EXPECT_EQ(leases.got[0].slot, 7u);
  EXPECT_EQ(leases.got[0].entry, entry);
  EXPECT_EQ(leases.got[0].due, t0 + milliseconds{10'100});
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.next_wakeup().has_value());
}

TEST(scheduler, never_early_at_any_resolution_and_sub_tick_due) {
  struct row {
    milliseconds resolution;
    time_point::duration due_after;
    time_point::duration fires_at;  // the first now (in whole resolution steps) that fires it
  };
  const std::vector<row> rows = {
      {milliseconds{100}, milliseconds{0}, milliseconds{0}},
      {milliseconds{100}, milliseconds{1}, milliseconds{100}},
      {milliseconds{100}, std::chrono::nanoseconds{100'000'001}, milliseconds{200}},  // just past a tick
      {milliseconds{1000}, milliseconds{1500}, milliseconds{2000}},
      {milliseconds{1}, std::chrono::microseconds{1}, milliseconds{1}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.resolution.count());
    scheduler s(t0, r.resolution);
    recorder rec;
    const auto c = s.add_client("c", rec.fn());
    s.schedule(c, 1, t0 + r.due_after);
    if (r.fires_at > time_point::duration::zero()) {
      EXPECT_EQ(s.advance(t0 + r.fires_at - std::chrono::nanoseconds{1}), 0u) << "early";
    }
    EXPECT_EQ(s.advance(t0 + r.fires_at), 1u);
    ASSERT_EQ(rec.got.size(), 1u);
    EXPECT_GE(rec.got[0].due, t0 + r.due_after);
  }
}

TEST(scheduler, a_reschedule_cancels_the_pending_entry_and_a_fired_one_is_recognised_as_stale) {
  scheduler s(t0);
  // The client's table: slot -> its current timer, compared with every dispatched entry.
  std::vector<scheduler::timer> table(3);
  std::vector<std::uint32_t> fresh, stale;
  scheduler::client a = 0;
  a = s.add_client("a", [&](std::span<const scheduler::fired> due) {
    for (const auto& f : due) {
      if (table[f.slot] != f.entry) {
        stale.push_back(f.slot);
        continue;
      }
      fresh.push_back(f.slot);
      // Slot 0's work renews slot 2, whose entry already left the wheel in this same batch.
      if (f.slot == 0) table[2] = s.reschedule(a, 2, table[2], t0 + seconds{5});
    }
  });
  table[0] = s.schedule(a, 0, t0 + milliseconds{900});
  table[1] = s.schedule(a, 1, t0 + seconds{1});
  table[2] = s.schedule(a, 2, t0 + seconds{1});
  table[1] = s.reschedule(a, 1, table[1], t0 + seconds{5});  // pending: the old entry is cancelled
  EXPECT_EQ(s.advance(t0 + seconds{1}), 2u);                  // slots 0 and 2, in due order
  EXPECT_EQ(fresh, std::vector<std::uint32_t>{0});
  EXPECT_EQ(stale, std::vector<std::uint32_t>{2});  // fired under the timer the reschedule replaced
  EXPECT_TRUE(table[2].valid());                     // ... and the reschedule scheduled it anew
  fresh.clear();
  EXPECT_EQ(s.advance(t0 + seconds{5}), 2u);
  std::sort(fresh.begin(), fresh.end());
  EXPECT_EQ(fresh, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_FALSE(s.cancel(table[1]));  // fired: nothing to cancel
}

TEST(scheduler, the_waker_is_called_only_for_an_entry_before_the_plan) {
  scheduler s(t0);
  const auto c = s.add_client("c", [](std::span<const scheduler::fired>) {});
  std::vector<time_point> woken;
  s.set_waker([&](time_point t) { woken.push_back(t); });
  s.schedule(c, 0, t0 + seconds{1});
  EXPECT_TRUE(woken.empty());  // no plan yet: no driver to wake
  EXPECT_EQ(s.plan(t0 + seconds{30}), t0 + seconds{1});  // the entry comes before the longest nap
  s.schedule(c, 1, t0 + seconds{60});                     // later than the plan: nobody is woken
  s.schedule(c, 2, t0 + seconds{1});                      // at the plan: neither
  EXPECT_TRUE(woken.empty());
  s.schedule(c, 3, t0 + milliseconds{500});  // earlier: wake up at its tick
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0], t0 + milliseconds{500});
  s.schedule(c, 4, t0 + milliseconds{700});  // earlier than the old plan, not than the new one
  EXPECT_EQ(woken.size(), 1u);
  s.set_waker(nullptr);
  s.schedule(c, 5, t0);  // no waker: nothing to call
  EXPECT_EQ(s.plan(t0 + seconds{30}), t0);  // something is due now
}

TEST(scheduler, a_removed_client_gets_nothing_more) {
  scheduler s(t0);
  recorder a, b;
  const auto ca = s.add_client("a", a.fn());
  const auto cb = s.add_client("b", b.fn());
  s.schedule(ca, 1, t0 + seconds{1});
  s.schedule(cb, 1, t0 + seconds{1});
  s.remove_client(ca);
  EXPECT_EQ(s.advance(t0 + seconds{1}), 2u);  // both left the wheel ...
  EXPECT_TRUE(a.got.empty());                 // ... but only b heard of it
  EXPECT_EQ(b.got.size(), 1u);
  const auto cc = s.add_client("c", a.fn());
  EXPECT_NE(cc, ca);  // ids are never reused: a stale entry of a cannot reach c
}

// Differential test: several clients schedule, reschedule and cancel at random while time advances
// in random steps; each client's dispatches are checked against a std::multimap oracle per client.
TEST(scheduler, differential_against_multimap_oracle_with_several_clients) {
  std::mt19937_64 rng(20261201);
  const milliseconds res{100};
  time_point now = t0 + milliseconds{static_cast<long>(rng() % 100'000)};
  scheduler s(now, res);
  constexpr int n_clients = 4;
  struct client_state {
    scheduler::client id = 0;
    std::vector<scheduler::timer> table;        // slot -> current timer (invalid: free)
    std::vector<time_point> due_of;             // slot -> its due time
    std::vector<std::uint32_t> free_slots;
    std::multimap<time_point, std::uint32_t> oracle;
    std::vector<std::multimap<time_point, std::uint32_t>::iterator> where;  // slot -> its oracle entry
    std::vector<std::uint32_t> fired;  // this advance's fresh dispatches
  };
  std::vector<client_state> cs(n_clients);
  time_point advanced_to = now;
  for (int i = 0; i < n_clients; ++i) {
    cs[i].id = s.add_client("c" + std::to_string(i), [&, i](std::span<const scheduler::fired> due) {
      auto& c = cs[i];
      for (const auto& f : due) {
        ASSERT_LE(f.due, advanced_to) << "dispatched before its tick";
        if (f.slot >= c.table.size() || c.table[f.slot] != f.entry) continue;  // stale
        ASSERT_LE(c.due_of[f.slot], advanced_to) << "fired early";
        c.fired.push_back(f.slot);
      }
    });
  }
  auto random_due = [&]() -> time_point {
    switch (rng() % 6) {
      case 0: return now - milliseconds{static_cast<long>(rng() % 5000)};  // past
      case 1: case 2: return now + milliseconds{static_cast<long>(rng() % 3000)};
      case 3: return now + seconds{static_cast<long>(rng() % 7200)};
      case 4: return now + std::chrono::nanoseconds{static_cast<long>(rng() % 1'000'000'000)};  // sub-tick
      default: return now + std::chrono::hours{static_cast<long>(rng() % 24 * 365)};
    }
  };
  std::size_t fired_total = 0;
  for (int op = 0; op < 1'000'000; ++op) {
    auto& c = cs[rng() % n_clients];
    const unsigned r = static_cast<unsigned>(rng() % 100);
    if (r < 45) {
      std::uint32_t slot;
      if (!c.free_slots.empty()) {
        slot = c.free_slots.back();
        c.free_slots.pop_back();
      } else {
        slot = static_cast<std::uint32_t>(c.table.size());
        c.table.emplace_back();
        c.due_of.emplace_back();
        c.where.emplace_back();
      }
      const time_point due = random_due();
      c.table[slot] = s.schedule(c.id, slot, due);
      c.due_of[slot] = due;
      c.where[slot] = c.oracle.emplace(due, slot);
    } else if (r < 75 && !c.oracle.empty()) {
      // Pick a live slot: a random oracle entry (advance the iterator a bounded random distance).
      auto it = c.oracle.begin();
      std::advance(it, static_cast<long>(rng() % std::min<std::size_t>(c.oracle.size(), 64)));
      const std::uint32_t slot = it->second;
      if (r < 60) {
        const time_point due = random_due();
        c.table[slot] = s.reschedule(c.id, slot, c.table[slot], due);
        c.due_of[slot] = due;
        c.oracle.erase(it);
        c.where[slot] = c.oracle.emplace(due, slot);
      } else {
        ASSERT_TRUE(s.cancel(c.table[slot]));
        c.oracle.erase(it);
        c.table[slot] = {};
        c.free_slots.push_back(slot);
      }
    } else {
      // next_wakeup is never later than the earliest due tick of any client (nor than now when
      // overdue): a timer armed for it is never late.
      auto tick_of = [&](time_point t) {
        const auto d = t.time_since_epoch().count(), step_ns = time_point::duration(res).count();
        return time_point{time_point::duration{(d / step_ns + (d % step_ns != 0 ? 1 : 0)) * step_ns}};
      };
      std::optional<time_point> earliest;
      for (auto& x : cs) {
        if (!x.oracle.empty() && (!earliest || tick_of(x.oracle.begin()->first) < *earliest)) {
          earliest = tick_of(x.oracle.begin()->first);
        }
      }
      const auto nw = s.next_wakeup();
      ASSERT_EQ(nw.has_value(), earliest.has_value());
      if (earliest) {
        ASSERT_LE(*nw, std::max(*earliest, advanced_to));
      }
      // Advance by a random step (at most a day: a million operations stay within time_point's
      // range); `now` (for dues) moves with it.
      const auto step = rng() % 25 == 0 ? milliseconds{static_cast<long>(rng() % (1000ULL * 86400))}
                                         : milliseconds{static_cast<long>(rng() % 700)};
      now += step + std::chrono::nanoseconds{static_cast<long>(rng() % 1000)};
      advanced_to = now;
      for (auto& x : cs) x.fired.clear();
      s.advance(now);
      for (auto& x : cs) {
        std::vector<std::uint32_t> expected;
        // Exactly the entries whose tick has come: due rounded up to the resolution <= now.
        while (!x.oracle.empty()) {
          if (tick_of(x.oracle.begin()->first) > now) break;
          expected.push_back(x.oracle.begin()->second);
          x.oracle.erase(x.oracle.begin());
        }
        std::sort(expected.begin(), expected.end());
        std::vector<std::uint32_t> got = x.fired;
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected) << "after " << op << " operations";
        for (auto slot : got) {
          x.table[slot] = {};
          x.free_slots.push_back(slot);
        }
        fired_total += got.size();
      }
      std::size_t pending = 0;
      for (auto& x : cs) pending += x.oracle.size();
      ASSERT_EQ(s.size(), pending);
    }
  }
  EXPECT_GT(fired_total, 50'000u);
}

}  // namespace
