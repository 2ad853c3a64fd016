#include "broker/mounts/mount_limits.hpp"

#include <gtest/gtest.h>

namespace credbroker::mounts {
namespace {

using std::chrono::seconds;

TEST(mount_limits, tune_over_the_server_limits) {
  const leases::ttl_limits server{seconds{3600}, seconds{7200}};
  struct row {
    std::int64_t def, max;
    std::int64_t want_def, want_max;
  };
  const std::vector<row> rows = {
      {0, 0, 3600, 7200},      // the server's
      {60, 0, 60, 7200},       // own default
      {0, 1800, 1800, 1800},   // max under the server's default caps it
      {600, 9000, 600, 7200},  // never above the server's max
      {5000, 0, 5000, 7200},
      {9000, 0, 7200, 7200},   // a default above the max is the max
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::to_string(r.def) + "/" + std::to_string(r.max));
    mount_limits l(server, r.def, r.max);
    EXPECT_EQ(l.effective().default_ttl, seconds{r.want_def});
    EXPECT_EQ(l.effective().max_ttl, seconds{r.want_max});
  }
  mount_limits l(server, 0, 0);
  l.set(120, 240);
  EXPECT_EQ(l.effective().default_ttl, seconds{120});
  EXPECT_EQ(l.effective().max_ttl, seconds{240});
}

}  // namespace
}  // namespace credbroker::mounts
