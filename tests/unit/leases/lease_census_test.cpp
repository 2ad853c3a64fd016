// count_leases (leases/lease_census.hpp): leases per mount, role and state, irrevocable and backlog,
// from the stored records' headers.
#include "leases/lease_census.hpp"

#include <gtest/gtest.h>

#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using leases::lease_state;
using std::chrono::seconds;

namespace {

TEST(lease_census, mount_and_role_from_lease_ids) {
  const std::vector<std::tuple<std::string, std::string, std::string>> rows = {
      {"database/creds/app/0VgmOYqWk3J9xQ0aZ7mT2pLb", "database/", "app"},
      {"team/db/creds/app-ro/X", "team/db/", "app-ro"},
      {"creds/app/X", "", ""},           // no mount
      {"database/static/app/X", "", ""}, // not a creds lease
      {"database/creds/X", "", ""},
      {"nothing", "", ""},
      {"", "", ""},
  };
  for (const auto& [id, mount, role] : rows) {
    SCOPED_TRACE(id);
    EXPECT_EQ(leases::mount_and_role(id), (std::pair<std::string, std::string>{mount, role}));
  }
}

TEST(lease_census, counts_by_role_and_state_with_backlog) {
  storage::inmem_backend store;
  const time_point now{seconds{1'800'000'000}};
  auto put = [&](const std::string& id, lease_state state, time_point expire, time_point next_attempt = {}) {
    leases::lease l;
    l.id = id;
    l.state = state;
    l.expire_time = expire;
    l.next_attempt = next_attempt;
    ASSERT_TRUE(store.put(leases::lease_storage_prefix + id, leases::encode(l)));
  };
  put("database/creds/app/A", lease_state::active, now + seconds{60});
  put("database/creds/app/B", lease_state::active, now - seconds{1});  // expired, not revoked yet: backlog
  put("database/creds/app/C", lease_state::pending, now + seconds{60});
  put("database/creds/ro/D", lease_state::revoking, now - seconds{600}, now + seconds{30});  // waits for its retry
  put("db2/creds/ro/E", lease_state::irrevocable, now - seconds{7200}, now - seconds{5});    // due for a retry: backlog
  ASSERT_TRUE(store.put(leases::lease_storage_prefix + "database/creds/app/broken", "not a lease"));
  ASSERT_TRUE(store.put("sys/expire/token/abc/database/creds/app/A", ""));  // another folder: not counted
  const auto c = leases::count_leases(store, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->total, 5u);
  EXPECT_EQ(c->unreadable, 1u);
  EXPECT_EQ(c->irrevocable, 1u);
  EXPECT_EQ(c->backlog, 2u);
  using key = std::tuple<std::string, std::string, lease_state>;
  const std::map<key, std::size_t> expect = {
      {{"database/", "app", lease_state::active}, 2},
      {{"database/", "app", lease_state::pending}, 1},
      {{"database/", "ro", lease_state::revoking}, 1},
      {{"db2/", "ro", lease_state::irrevocable}, 1},
  };
  EXPECT_EQ(c->by_role, expect);
}

}  // namespace
