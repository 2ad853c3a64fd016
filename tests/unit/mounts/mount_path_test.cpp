#include "broker/mounts/mount_path.hpp"

#include <gtest/gtest.h>

namespace credbroker::mounts {
namespace {

TEST(mount_path, checks_and_normalises_as_vault) {
  struct row {
    std::string in;
    std::string want;  // "" = refused with `error`
    std::string error;
  };
  const std::vector<row> rows = {
      {"database", "database/", ""},
      {"/team/db", "team/db/", ""},
      {"a-b_c.d/", "a-b_c.d/", ""},
      {"", "", "path cannot be empty"},
      {"/", "", "path cannot be empty"},
      {"sys/x", "", "cannot mount under a reserved path: sys/x/"},
      {"auth/approle", "", "cannot mount under a reserved path: auth/approle/"},
      {"cubbyhole", "", "cannot mount under a reserved path: cubbyhole/"},
      {"a b", "", "invalid path \"a b/\""},
      {"db?x", "", "invalid path \"db?x/\""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.in);
    auto got = checked_mount_path(r.in);
    if (r.want.empty()) {
      ASSERT_FALSE(got);
      EXPECT_EQ(got.err().code, make_error_code(errc::invalid_request));
      EXPECT_EQ(got.err().message, r.error);
    } else {
      ASSERT_TRUE(got) << got.err().message;
      EXPECT_EQ(*got, r.want);
    }
  }
  // Auth methods live below auth/: their own paths are not reserved.
  EXPECT_EQ(*checked_method_path("sys-like/approle"), "sys-like/approle/");
}

TEST(mount_path, overlap_and_longest_mount) {
  const std::map<std::string, int> mounted = {{"db/", 1}, {"team/db/", 2}};
  EXPECT_EQ(overlapping(mounted, "db/prod/"), "db/");
  EXPECT_EQ(overlapping(mounted, "team/"), "team/db/");
  EXPECT_EQ(overlapping(mounted, "dbx/"), std::nullopt);
  EXPECT_EQ(longest_mount(mounted, "team/db/creds/app"), "team/db/");
  EXPECT_EQ(longest_mount(mounted, "db"), "db/");
  EXPECT_EQ(longest_mount(mounted, "dbx/creds"), "");
}

}  // namespace
}  // namespace credbroker::mounts
