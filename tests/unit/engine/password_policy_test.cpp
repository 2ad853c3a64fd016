#include "broker/engine/password_policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "broker/storage/inmem_backend.hpp"

namespace credbroker::engine {
namespace {

TEST(password_policy, default_generator_meets_every_class) {
  const auto p = default_password_policy();
  for (int i = 0; i < 200; ++i) {
    auto pw = generate_password(p);
    ASSERT_TRUE(pw);
    const std::string s = pw->reveal();
    ASSERT_EQ(s.size(), 20u);
    EXPECT_TRUE(std::any_of(s.begin(), s.end(), ::islower));
    EXPECT_TRUE(std::any_of(s.begin(), s.end(), ::isupper));
    EXPECT_TRUE(std::any_of(s.begin(), s.end(), ::isdigit));
    EXPECT_NE(s.find('-'), std::string::npos);
    EXPECT_TRUE(std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }));
  }
}

TEST(password_policy, rules_are_enforced) {
  auto p = parse_password_policy(R"(
    length = 12
    rule "charset" {
      charset = "ab"
      min-chars = 2
    }
    rule "charset" {
      charset = "0123456789"
      min-chars = 5
    }
  )");
  ASSERT_TRUE(p) << p.err().message;
  EXPECT_EQ(p->charset, "ab0123456789");
  for (int i = 0; i < 100; ++i) {
    const std::string s = generate_password(*p)->reveal();
    EXPECT_EQ(s.size(), 12u);
    EXPECT_GE(std::count_if(s.begin(), s.end(), ::isdigit), 5);
    EXPECT_GE(std::count_if(s.begin(), s.end(), [](char c) { return c == 'a' || c == 'b'; }), 2);
  }
}

struct bad {
  const char* text;
  const char* error;
};
TEST(password_policy, errors) {
  const std::vector<bad> cases = {
      {"rule \"charset\" { charset = \"a\" }", "length must be specified"},
      {"length = 3\nrule \"charset\" { charset = \"a\" }", "length must be at least 4"},
      {"length = 8", "at least one rule \"charset\" is required"},
      {"length = 8\nrule \"charset\" { charset = \"\" }", "line 2, column 6: rule \"charset\" needs a non-empty charset"},
      {"length = 8\nrule \"digits\" { charset = \"1\" }", "line 2, column 6: unrecognized rule type \"digits\" (expected charset)"},
      {"length = 8.5\nrule \"charset\" { charset = \"a\" }", "line 1, column 10: length must be a non-negative integer"},
      {"length = 8\nrule \"charset\" { charset = \"a\", min-chars = 9 }", "the rules require 9 characters, more than the length 8"},
      {"length = 8\nlenght = 9", "line 2, column 1: invalid key \"lenght\" (expected length or rule)"},
      {"length = 8\nrule \"charset\" { charset = \"a\" max = 1 }",
       "line 2, column 32: expected a newline or ',' after the value of \"charset\", found 'm'"},
  };
  for (const auto& c : cases) {
    auto p = parse_password_policy(c.text);
    ASSERT_FALSE(p) << c.text;
    EXPECT_EQ(p.err().message, c.error);
  }
}

// The entropy bound against values computed independently (exact where the bound is exact; the
// default's exact value, by inclusion-exclusion over its four classes, is 117.62 bits).
TEST(password_policy, entropy_bits_of_policies) {
  struct row {
    const char* name;
    const char* text;  // nullptr: the default policy
    double bits;
  };
  const std::vector<row> rows = {
      {"default: 20 of 63 less what min-chars rejects", nullptr, 117.500},
      {"20 lowercase", "length = 20\nrule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyz\" }", 94.009},
      {"32 alphanumeric",
       "length = 32\nrule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\" }",
       190.534},
      {"17 alphanumeric: just over 100",
       "length = 17\nrule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\" }",
       101.221},
      {"16 alphanumeric: just under 100",
       "length = 16\nrule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\" }",
       95.267},
      {"4 digits", "length = 4\nrule \"charset\" { charset = \"0123456789\" }", 13.288},
      {"duplicate characters count once", "length = 4\nrule \"charset\" { charset = \"00112233445566778899\" }", 13.288},
      {"min-chars fills the length: only the constructive bound is left",
       "length = 8\nrule \"charset\" { charset = \"ab\"\nmin-chars = 8 }\nrule \"charset\" { charset = \"cd\" }", 8.000},
      {"two rules, union bound", "length = 12\nrule \"charset\" { charset = \"ab\"\nmin-chars = 2 }\n"
                                 "rule \"charset\" { charset = \"0123456789\"\nmin-chars = 5 }", 42.326},
      {"overlapping charsets", "length = 24\nrule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyz\"\nmin-chars = 2 }\n"
                               "rule \"charset\" { charset = \"abcdefghijklmnopqrstuvwxyz0123456789\"\nmin-chars = 1 }", 124.078},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    password_policy p;
    if (r.text == nullptr) {
      p = default_password_policy();
    } else {
      auto parsed = parse_password_policy(r.text);
      ASSERT_TRUE(parsed) << parsed.err().message;
      p = *parsed;
    }
    EXPECT_NEAR(p.entropy_bits, r.bits, 0.001);
    EXPECT_NEAR(password_entropy_bits(p), r.bits, 0.001);
  }
}

TEST(password_policies, generate_rated_and_entropy_bits_follow_the_stored_policy) {
  storage::inmem_backend store;
  password_policies pp(store);
  ASSERT_TRUE(pp.put("pin", "length = 6\nrule \"charset\" { charset = \"0123456789\" }"));
  auto g = pp.generate_rated("pin");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->password.reveal().size(), 6u);
  EXPECT_NEAR(g->entropy_bits, 6 * std::log2(10.0), 1e-9);
  EXPECT_NEAR(pp.generate_rated("")->entropy_bits, 117.5, 0.001);
  EXPECT_NEAR(**pp.entropy_bits("pin"), 6 * std::log2(10.0), 1e-9);
  EXPECT_FALSE(pp.entropy_bits("nope")->has_value());
  EXPECT_EQ(pp.generate_rated("nope").err().message, "password policy \"nope\" does not exist");
  ASSERT_TRUE(pp.put("pin", "length = 30\nrule \"charset\" { charset = \"0123456789\" }"));  // rewritten
  EXPECT_NEAR(**pp.entropy_bits("pin"), 30 * std::log2(10.0), 1e-9);
}

TEST(password_policies, store_and_generate) {
  storage::inmem_backend store;
  password_policies pp(store);
  EXPECT_EQ(pp.put("bad", "length = 2").err().message, "unable to parse password policy: length must be at least 4");
  ASSERT_TRUE(pp.put("pin", "length = 6\nrule \"charset\" { charset = \"0123456789\" }"));
  auto pw = pp.generate("pin");
  ASSERT_TRUE(pw);
  EXPECT_EQ(pw->reveal().size(), 6u);
  EXPECT_EQ(pp.generate("nope").err().message, "password policy \"nope\" does not exist");
  EXPECT_EQ(pp.generate("")->reveal().size(), 20u);
  EXPECT_EQ(*pp.list(), std::vector<std::string>{"pin"});
  ASSERT_TRUE(pp.remove("pin"));
  EXPECT_FALSE(pp.get_text("pin")->has_value());
}

}  // namespace
}  // namespace credbroker::engine
