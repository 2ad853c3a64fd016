// boot_history: the boot ids of the processes that were active, newest last, at most eight.
#include "broker/node/boot_history.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "support/test_store.hpp"

namespace credbroker::node {
namespace {

using list = std::vector<std::string>;

list stored(test::test_store& store) {
  auto raw = store.get(boot_history_path);
  if (!raw || !raw->has_value()) return {};
  return nlohmann::json::parse(**raw)["boots"].get<list>();
}

TEST(boot_history, records_the_newest_last_and_returns_the_earlier_ones_newest_first) {
  struct step {
    const char* boot;
    list earlier, after;
  };
  const std::vector<step> steps = {
      {"a", {}, {"a"}},
      {"b", {"a"}, {"a", "b"}},
      {"c", {"b", "a"}, {"a", "b", "c"}},
      {"a", {"c", "b"}, {"b", "c", "a"}},  // a node that leads again is moved to the end, once
  };
  test::test_store store;
  for (const auto& s : steps) {
    SCOPED_TRACE(s.boot);
    auto earlier = record_active_boot(store, s.boot);
    ASSERT_TRUE(earlier) << earlier.err().message;
    EXPECT_EQ(*earlier, s.earlier);
    EXPECT_EQ(stored(store), s.after);
  }
}

TEST(boot_history, keeps_the_newest_eight) {
  test::test_store store;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(record_active_boot(store, "boot" + std::to_string(i)));
  EXPECT_EQ(stored(store), (list{"boot2", "boot3", "boot4", "boot5", "boot6", "boot7", "boot8", "boot9"}));
  auto earlier = record_active_boot(store, "boot10");
  ASSERT_TRUE(earlier);
  EXPECT_EQ(earlier->size(), 8u);
  EXPECT_EQ(earlier->front(), "boot9");
}

TEST(boot_history, a_damaged_record_is_an_error_and_stays_as_it_is) {
  const std::vector<std::string> damaged = {"not json", R"({"boots": "a"})", R"({"boots": [1]})", R"([])"};
  for (const auto& value : damaged) {
    SCOPED_TRACE(value);
    test::test_store store;
    ASSERT_TRUE(store.put(boot_history_path, value));
    auto r = record_active_boot(store, "a");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().code, make_error_code(errc::integrity_failure));
    EXPECT_EQ(**store.get(boot_history_path), value);
  }
}

TEST(boot_history, a_failed_write_is_reported) {
  test::test_store store;
  store.fail_writes(true);
  auto r = record_active_boot(store, "a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::storage_failure));
}

}  // namespace
}  // namespace credbroker::node
