#include <gtest/gtest.h>

#include <map>
#include <random>
#include <unordered_map>

#include "broker/core/timer_wheel.hpp"

using credbroker::timer_wheel;
using tick = timer_wheel::tick;

namespace {

TEST(timer_wheel, worked_example_from_the_header) {
  timer_wheel w(0x0100);
  std::vector<std::uint64_t> fired;
  auto fire = [&](std::uint64_t p, tick due) {
    EXPECT_LE(due, w.now());
    fired.push_back(p);
  };
  w.schedule(0x0105, 'A');
  w.schedule(0x0342, 'B');
  EXPECT_EQ(w.next_wakeup(), tick{0x0105});
  EXPECT_EQ(w.advance(0x0300, fire), 1u);
  EXPECT_EQ(fired, std::vector<std::uint64_t>{'A'});
  EXPECT_EQ(w.now(), tick{0x0300});
  EXPECT_EQ(w.next_wakeup(), tick{0x0342});
  EXPECT_EQ(w.advance(0x0341, fire), 0u);
  EXPECT_EQ(w.advance(0x0342, fire), 1u);
  EXPECT_EQ(fired.back(), std::uint64_t{'B'});
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.next_wakeup().has_value());
}

TEST(timer_wheel, past_and_present_dues_fire_on_the_next_advance) {
  timer_wheel w(1000);
  int fired = 0;
  w.schedule(5, 1);
  w.schedule(1000, 2);
  EXPECT_EQ(w.next_wakeup(), tick{1000});
  EXPECT_EQ(w.advance(1000, [&](std::uint64_t, tick) { ++fired; }), 2u);
  EXPECT_EQ(fired, 2);
}

TEST(timer_wheel, cancel_and_stale_handles) {
  timer_wheel w;
  auto a = w.schedule(10, 1);
  auto b = w.schedule(1'000'000, 2);
  EXPECT_TRUE(w.cancel(a));
  EXPECT_FALSE(w.cancel(a));  // twice
  auto b2 = w.reschedule(b, 20);
  EXPECT_TRUE(b2.valid());
  EXPECT_FALSE(w.cancel(b));  // the old handle is stale
  std::vector<std::uint64_t> fired;
  w.advance(100, [&](std::uint64_t p, tick) { fired.push_back(p); });
  EXPECT_EQ(fired, std::vector<std::uint64_t>{2});
  EXPECT_FALSE(w.cancel(b2));  // already fired
  EXPECT_FALSE(w.cancel({}));
}

TEST(timer_wheel, fire_may_take_the_handle_schedule_returned) {
  timer_wheel w(0);
  const auto a = w.schedule(5, 1);
  const auto b = w.schedule(300, 2);
  std::vector<std::pair<std::uint64_t, timer_wheel::handle>> fired;
  w.advance(1000, [&](std::uint64_t p, tick, timer_wheel::handle h) { fired.emplace_back(p, h); });
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], std::make_pair(std::uint64_t{1}, a));
  EXPECT_EQ(fired[1], std::make_pair(std::uint64_t{2}, b));
  EXPECT_NE(w.schedule(7, 3), a);  // a node used again gets a new generation
}

TEST(timer_wheel, huge_ticks_and_jumps) {
  timer_wheel w(0);
  const tick far = (tick{1} << 62) + 12345;
  w.schedule(far, 7);
  w.schedule(UINT64_MAX, 8);
  EXPECT_EQ(w.advance(far - 1, [](std::uint64_t, tick) { FAIL() << "early"; }), 0u);
  std::vector<std::uint64_t> fired;
  w.advance(far, [&](std::uint64_t p, tick) { fired.push_back(p); });
  EXPECT_EQ(fired, std::vector<std::uint64_t>{7});
  w.advance(UINT64_MAX, [&](std::uint64_t p, tick) { fired.push_back(p); });
  EXPECT_EQ(fired.back(), 8u);
}

// Differential test: random schedule/cancel/reschedule/advance against a std::multimap oracle.
TEST(timer_wheel, differential_against_multimap_oracle) {
  std::mt19937_64 rng(20261123);
  timer_wheel w(rng() % 1'000'000);
  std::multimap<tick, std::uint64_t> oracle;
  std::unordered_map<std::uint64_t, std::pair<timer_wheel::handle, std::multimap<tick, std::uint64_t>::iterator>> live;
  std::vector<std::uint64_t> live_ids;  // for random picks (may hold dead ids; skipped)
  std::uint64_t next_id = 1;
  std::size_t ops = 0, fired_total = 0;

  auto random_due = [&]() -> tick {
    const tick now = w.now();
    switch (rng() % 8) {
      case 0: return now - std::min<tick>(now, rng() % 50);        // past or now
      case 1: case 2: case 3: return now + rng() % 300;             // level 0/1
      case 4: case 5: return now + rng() % 70'000;                  // level 1/2
      case 6: return now + rng() % (tick{1} << 32);                 // high levels
      default: return now + 1 + rng() % 5;                          // very soon
    }
  };

  constexpr std::size_t target_ops = 1'200'000;
  while (ops < target_ops) {
    const unsigned r = static_cast<unsigned>(rng() % 100);
    ++ops;
    if (r < 55) {
      const tick due = random_due();
      const std::uint64_t id = next_id++;
      auto h = w.schedule(due, id);
      live[id] = {h, oracle.emplace(due, id)};
      live_ids.push_back(id);
    } else if (r < 70 && !live_ids.empty()) {
      const std::size_t k = rng() % live_ids.size();
      const std::uint64_t id = live_ids[k];
      live_ids[k] = live_ids.back();
      live_ids.pop_back();
      auto it = live.find(id);
      if (it == live.end()) {
        continue;  // already fired
      }
      ASSERT_TRUE(w.cancel(it->second.first)) << "cancel of a live entry failed";
      oracle.erase(it->second.second);
      live.erase(it);
    } else if (r < 80 && !live_ids.empty()) {
      const std::uint64_t id = live_ids[rng() % live_ids.size()];
      auto it = live.find(id);
      if (it == live.end()) continue;
      const tick due = random_due();
      auto h = w.reschedule(it->second.first, due);
      ASSERT_TRUE(h.valid());
      oracle.erase(it->second.second);
      it->second = {h, oracle.emplace(due, id)};
    } else {
      // Next wakeup is never later than the earliest due.
      if (!oracle.empty()) {
        auto nw = w.next_wakeup();
        ASSERT_TRUE(nw.has_value());
        ASSERT_LE(*nw, std::max(oracle.begin()->first, w.now()));
      } else {
        ASSERT_FALSE(w.next_wakeup().has_value());
      }
      const tick target = w.now() + ((rng() % 20 == 0) ? rng() % (tick{1} << 33) : rng() % 400);
      std::vector<std::uint64_t> fired;
      w.advance(target, [&](std::uint64_t id, tick due) {
        ASSERT_LE(due, w.now()) << "fired early";
        ASSERT_LE(due, target);
        fired.push_back(id);
      });
      std::vector<std::uint64_t> expected;
      while (!oracle.empty() && oracle.begin()->first <= target) {
        expected.push_back(oracle.begin()->second);
        oracle.erase(oracle.begin());
      }
      std::sort(fired.begin(), fired.end());
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(fired, expected) << "after " << ops << " operations";
      for (auto id : fired) live.erase(id);
      fired_total += fired.size();
      ASSERT_EQ(w.size(), oracle.size());
    }
  }
  EXPECT_GT(fired_total, 100'000u);
}

TEST(timer_wheel, node_is_small) { EXPECT_LE(timer_wheel::bytes_per_entry(), 32u); }

}  // namespace
