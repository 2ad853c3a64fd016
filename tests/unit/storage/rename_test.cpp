// rename_children / move_folder: layout upgrades that rename keys, cut at any point and run again.
#include "broker/storage/rename.hpp"

#include <gtest/gtest.h>

#include "support/test_store.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

// f(x) = "h-" + x, and nothing for names it made.
result<std::optional<std::string>> hashed(std::string_view name) {
  if (name.rfind("h-", 0) == 0) return std::optional<std::string>();
  return std::optional<std::string>("h-" + std::string(name));
}

// Fails every write after the first `allowed` ones: a crash between batches.
class failing_after : public physical {
 public:
  failing_after(physical& inner, int allowed) : inner_(inner), allowed_(allowed) {}
  result<std::optional<std::string>> get(const std::string& k) override { return inner_.get(k); }
  result<std::vector<std::string>> list(const std::string& p) override { return inner_.list(p); }
  status apply(std::vector<operation> ops) override {
    if (allowed_-- <= 0) return make_error(errc::storage_failure, "crash");
    return inner_.apply(std::move(ops));
  }
  status scan(const std::string& p, const std::function<bool(const std::string&, std::string_view)>& v) override {
    return inner_.scan(p, v);
  }

 private:
  physical& inner_;
  int allowed_;
};

std::map<std::string, std::string> seeded(test::test_store& s) {
  for (int i = 0; i < 7; ++i) s.poke("t/ab/" + std::to_string(i), "v" + std::to_string(i));
  s.poke("t/ab/deep/er", "d");
  s.poke("t/cd", "leaf");
  s.poke("t/h-done/1", "kept");
  s.poke("u/ab/1", "elsewhere");
  return {{"t/h-ab/0", "v0"}, {"t/h-ab/1", "v1"}, {"t/h-ab/2", "v2"}, {"t/h-ab/3", "v3"}, {"t/h-ab/4", "v4"},
          {"t/h-ab/5", "v5"}, {"t/h-ab/6", "v6"}, {"t/h-ab/deep/er", "d"}, {"t/h-cd", "leaf"},
          {"t/h-done/1", "kept"}, {"u/ab/1", "elsewhere"}};
}

TEST(rename, leaves_and_folders_move_with_their_values) {
  test::test_store s;
  const auto want = seeded(s);
  ASSERT_TRUE(rename_children(s, "t/", hashed, 3));
  EXPECT_EQ(s.snapshot(), want);
  ASSERT_TRUE(rename_children(s, "t/", hashed, 3));  // idempotent
  EXPECT_EQ(s.snapshot(), want);
}

TEST(rename, a_cut_at_any_write_finishes_when_run_again) {
  for (int allowed = 0; allowed < 5; ++allowed) {  // the move takes 5 writes
    SCOPED_TRACE(allowed);
    test::test_store s;
    const auto want = seeded(s);
    failing_after cut(s, allowed);
    auto first = rename_children(cut, "t/", hashed, 2);
    EXPECT_FALSE(first);
    EXPECT_EQ(first.err().message, "crash");
    // Nothing lost or duplicated in between: every value is under exactly one of its two names.
    std::size_t values = 0;
    for (const auto& [k, v] : s.snapshot()) values += k.rfind("t/", 0) == 0 ? 1 : 0;
    EXPECT_EQ(values, 10u);
    ASSERT_TRUE(rename_children(s, "t/", hashed, 2));
    EXPECT_EQ(s.snapshot(), want);
  }
}

TEST(rename, an_error_from_the_renamer_stops_and_same_names_stay) {
  test::test_store s;
  s.poke("t/a", "1");
  s.poke("t/b", "2");
  auto r = rename_children(s, "t/", [](std::string_view) -> result<std::optional<std::string>> {
    return make_error(errc::sealed, "sealed");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().message, "sealed");
  ASSERT_TRUE(rename_children(s, "t/", [](std::string_view n) { return result<std::optional<std::string>>(std::string(n)); }));
  EXPECT_EQ(s.snapshot(), (std::map<std::string, std::string>{{"t/a", "1"}, {"t/b", "2"}}));
}

}  // namespace
