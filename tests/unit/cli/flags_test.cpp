#include <gtest/gtest.h>

#include "cli/flags.hpp"

using namespace credbroker::cli;

namespace {

const std::vector<flag_spec> specs = {{"config", true, "FILE", ""}, {"dev", false, "", ""}};

struct flags_case {
  std::vector<std::string> args;
  const char* error;  // nullptr: ok
  std::string config;
  bool dev;
  std::vector<std::string> positional;
};

TEST(flags, go_style_table) {
  const std::vector<flags_case> cases = {
      {{"-config", "a.json"}, nullptr, "a.json", false, {}},
      {{"-config=a.json"}, nullptr, "a.json", false, {}},
      {{"--config", "a.json"}, nullptr, "a.json", false, {}},
      {{"-dev"}, nullptr, "", true, {}},
      {{"-dev=false"}, nullptr, "", false, {}},
      {{"-dev", "rest", "-config", "x"}, nullptr, "", true, {"rest", "-config", "x"}},
      {{"--", "-dev"}, nullptr, "", false, {"-dev"}},
      {{"-config"}, "flag needs an argument: -config", "", false, {}},
      {{"-nope"}, "flag provided but not defined: -nope", "", false, {}},
      {{"-dev=maybe"}, "invalid boolean value \"maybe\" for -dev: expected true or false", "", false, {}},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto r = parse_flags(specs, c.args);
    if (c.error != nullptr) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.err().message, c.error);
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(r->value("config"), c.config);
    EXPECT_EQ(r->flag("dev"), c.dev);
    EXPECT_EQ(r->positional, c.positional);
  }
}

TEST(flags, help_is_recognised) {
  for (const char* h : {"-h", "-help", "--help"}) {
    auto r = parse_flags(specs, {h});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->help);
  }
}

}  // namespace
