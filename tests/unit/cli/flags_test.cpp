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

namespace {

const std::vector<flag_spec> cli_specs = {
    {"format", true, "FORMAT", ""},
    {"force", false, "", "", {"f"}},
    {"policy", true, "NAME", "", {}, true, true},
    {"metadata", true, "K=V", "", {}, true}};

TEST(flags, aliases_repeats_and_comma_lists) {
  auto r = parse_flags(cli_specs, {"-f", "-policy=a,b", "-policy", "c", "-metadata=k=v,w", "-format", "json", "secret/x", "k=v"});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(r->flag("force"));
  EXPECT_EQ(r->value("format"), "json");
  EXPECT_EQ(r->all("policy"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r->all("metadata"), (std::vector<std::string>{"k=v,w"}));  // no comma split
  EXPECT_EQ(r->positional, (std::vector<std::string>{"secret/x", "k=v"}));
}

TEST(flags, stdin_dash_is_an_argument_and_late_flags_are_reported) {
  auto r = parse_flags(cli_specs, {"-", "-format=json", "-nope", "-h"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->positional.size(), 4u);
  EXPECT_FALSE(r->has("format"));
  EXPECT_EQ(flags_after_arguments(cli_specs, r->positional), (std::vector<std::string>{"-format=json", "-h"}));
}

TEST(flags, alias_boolean_errors_name_the_flag_given) {
  auto r = parse_flags(cli_specs, {"-f=maybe"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message, "invalid boolean value \"maybe\" for -f: expected true or false");
}

}  // namespace
