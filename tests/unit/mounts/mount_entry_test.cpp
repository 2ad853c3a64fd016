#include "broker/mounts/mount_entry.hpp"

#include <gtest/gtest.h>

namespace credbroker::mounts {
namespace {

TEST(mount_entry, rows_round_trip) {
  const mount_rows rows = {{"database/", {"database/", "database", "main", "database_x1", "u-1", 60, 3600}},
                           {"team/db/", {"team/db/", "database", "", "database_x2", "u-2", 0, 0}}};
  auto back = decode_rows(encode_rows(rows), "the table");
  ASSERT_TRUE(back) << back.err().message;
  ASSERT_EQ(back->size(), 2U);
  const mount_entry& e = back->at("database/");
  EXPECT_EQ(std::tie(e.type, e.description, e.accessor, e.uuid, e.default_ttl, e.max_ttl),
            std::make_tuple(std::string("database"), std::string("main"), std::string("database_x1"), std::string("u-1"),
                            std::int64_t{60}, std::int64_t{3600}));
}

TEST(mount_entry, rows_without_path_or_uuid_are_skipped_and_a_damaged_table_named) {
  auto some = decode_rows(R"([{"path":"a/","uuid":"u"},{"path":"b/"},{"uuid":"v"},7])", "t");
  ASSERT_TRUE(some);
  EXPECT_EQ(some->size(), 1U);
  EXPECT_TRUE(some->contains("a/"));
  for (const char* bad : {"{}", "not json", "\"x\""}) {
    SCOPED_TRACE(bad);
    auto got = decode_rows(bad, "the mount table (core/mounts)");
    ASSERT_FALSE(got);
    EXPECT_EQ(got.err().message, "the mount table (core/mounts) is damaged");
  }
}

}  // namespace
}  // namespace credbroker::mounts
