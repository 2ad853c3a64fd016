// local_deadline on made-up steady times: when a leader heartbeats, and when it must stop believing
// it leads.
#include <gtest/gtest.h>

#include "broker/ha/local_deadline.hpp"

using namespace credbroker::ha;
using namespace std::chrono_literals;

namespace {

const local_deadline::time_point t0{std::chrono::seconds(1000)};

TEST(local_deadline, a_term_heartbeats_at_a_third_and_expires_a_margin_before_the_ttl) {
  local_deadline d(10s);
  EXPECT_FALSE(d.holding());
  EXPECT_FALSE(d.heartbeat_due(t0 + 1h));
  EXPECT_FALSE(d.expired(t0 + 1h));  // nobody who never led expires
  d.acquired(t0);
  const std::vector<std::tuple<std::chrono::milliseconds, bool, bool>> table = {
      // since t0, heartbeat due, expired
      {0ms, false, false},     {3000ms, false, false}, {3334ms, true, false},
      {8999ms, true, false},   {9000ms, true, true},   {60000ms, true, true},
  };
  for (const auto& [at, due, expired] : table) {
    SCOPED_TRACE(at.count());
    EXPECT_EQ(d.heartbeat_due(t0 + at), due);
    EXPECT_EQ(d.expired(t0 + at), expired);
  }
  EXPECT_EQ(d.margin(), 1s);
}

TEST(local_deadline, confirmations_move_the_deadline_forward_only) {
  local_deadline d(10s);
  d.acquired(t0);
  d.confirmed(t0 + 5s);
  EXPECT_EQ(d.expires_at(), t0 + 14s);
  EXPECT_FALSE(d.heartbeat_due(t0 + 8s));
  EXPECT_TRUE(d.heartbeat_due(t0 + 8400ms));
  d.confirmed(t0 + 2s);  // a statement sent earlier that finished later proves less
  EXPECT_EQ(d.expires_at(), t0 + 14s);
  EXPECT_FALSE(d.expired(t0 + 13s));
  EXPECT_TRUE(d.expired(t0 + 14s));
}

TEST(local_deadline, a_paused_leader_finds_itself_expired_when_it_resumes) {
  local_deadline d(3s);
  d.acquired(t0);
  d.confirmed(t0 + 1s);
  // SIGSTOP for 20 s: steady time moves on, nothing was confirmed meanwhile.
  EXPECT_TRUE(d.expired(t0 + 21s));
  d.lost();
  EXPECT_FALSE(d.holding());
  EXPECT_FALSE(d.expired(t0 + 21s));
}

TEST(local_deadline, short_ttls_keep_a_100ms_margin) {
  local_deadline d(500ms);
  d.acquired(t0);
  EXPECT_EQ(d.margin(), 100ms);
  EXPECT_FALSE(d.expired(t0 + 399ms));
  EXPECT_TRUE(d.expired(t0 + 400ms));
}

}  // namespace
