#include "plugins/common/config_reader.hpp"

#include <gtest/gtest.h>

namespace credbroker::plugins::common {
namespace {

using nlohmann::json;

// "" = the read succeeds; otherwise the whole error message.
struct string_case {
  const char* name;
  json cfg;
  bool required;
  std::string want;
  std::string error;
};

// A case either reads `want` or fails with invalid_request and exactly `error`.
template <typename T, typename W>
void expect_outcome(const result<T>& r, const W& want, const std::string& error) {
  if (error.empty()) {
    ASSERT_TRUE(r) << r.err().message;
    EXPECT_EQ(*r, want);
  } else {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().code, make_error_code(errc::invalid_request));
    EXPECT_EQ(r.err().message, error);
  }
}

TEST(config_reader, strings) {
  const std::vector<string_case> cases = {
      {"optional absent", json::object(), false, "", ""},
      {"optional null", {{"k", nullptr}}, false, "", ""},
      {"optional value", {{"k", "v"}}, false, "v", ""},
      {"optional empty", {{"k", ""}}, false, "", ""},
      {"optional number", {{"k", 5}}, false, "", "k must be a string"},
      {"required absent", json::object(), true, "", "k cannot be empty"},
      {"required null", {{"k", nullptr}}, true, "", "k cannot be empty"},
      {"required empty", {{"k", ""}}, true, "", "k cannot be empty"},
      {"required value", {{"k", "v"}}, true, "v", ""},
      {"required bool", {{"k", true}}, true, "", "k must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = c.required ? required_string(c.cfg, "k") : optional_string(c.cfg, "k");
    expect_outcome(r, c.want, c.error);
  }
}

struct integer_case {
  const char* name;
  json cfg;
  bool ranged;  // integer_in(.., 7, 1, 10) instead of integer(.., 7)
  std::int64_t want;
  std::string error;
};

TEST(config_reader, integers) {
  const std::vector<integer_case> cases = {
      {"absent is the default", json::object(), false, 7, ""},
      {"null is the default", {{"n", nullptr}}, false, 7, ""},
      {"number", {{"n", 12}}, false, 12, ""},
      {"negative number", {{"n", -3}}, false, -3, ""},
      {"decimal string", {{"n", "42"}}, false, 42, ""},
      {"trailing text", {{"n", "42s"}}, false, 0, "n must be an integer"},
      {"fraction", {{"n", 4.5}}, false, 0, "n must be an integer"},
      {"fraction string", {{"n", "4.0"}}, false, 0, "n must be an integer"},
      {"empty string", {{"n", ""}}, false, 0, "n must be an integer"},
      {"out of int64", {{"n", "99999999999999999999"}}, false, 0, "n must be an integer"},
      {"bool", {{"n", true}}, false, 0, "n must be an integer"},
      {"ranged default", json::object(), true, 7, ""},
      {"ranged low edge", {{"n", 1}}, true, 1, ""},
      {"ranged high edge", {{"n", "10"}}, true, 10, ""},
      {"ranged below", {{"n", 0}}, true, 0, "n must be between 1 and 10"},
      {"ranged above", {{"n", "11"}}, true, 0, "n must be between 1 and 10"},
      {"ranged not a number", {{"n", "x"}}, true, 0, "n must be an integer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = c.ranged ? integer_in(c.cfg, "n", 7, 1, 10) : integer(c.cfg, "n", 7);
    expect_outcome(r, c.want, c.error);
  }
}

TEST(config_reader, ports) {
  struct port_case {
    const char* name;
    json value;
    int want;
    std::string error;
  };
  const std::vector<port_case> cases = {
      {"number", 6379, 6379, ""},
      {"string", "6380", 6380, ""},
      {"lowest", 1, 1, ""},
      {"highest", "65535", 65535, ""},
      {"zero", 0, 0, "port must be between 1 and 65535"},
      {"too high", 65536, 0, "port must be between 1 and 65535"},
      {"text", "redis", 0, "port must be an integer"},
      {"trailing", "6379x", 0, "port must be an integer"},
      {"object", json::object(), 0, "port must be an integer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = port(c.value, "port");
    expect_outcome(r, c.want, c.error);
  }
}

TEST(config_reader, flags) {
  struct flag_case {
    const char* name;
    json cfg;
    bool want;
  };
  const std::vector<flag_case> cases = {
      {"absent", json::object(), false}, {"null", {{"f", nullptr}}, false}, {"true", {{"f", true}}, true},
      {"false", {{"f", false}}, false},  {"\"true\"", {{"f", "true"}}, true}, {"\"1\"", {{"f", "1"}}, true},
      {"\"t\"", {{"f", "t"}}, true},     {"\"TRUE\"", {{"f", "TRUE"}}, true}, {"\"yes\"", {{"f", "yes"}}, false},
      {"number 1", {{"f", 1}}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(flag(c.cfg, "f"), c.want);
  }
}

TEST(config_reader, durations) {
  struct duration_case {
    const char* name;
    json cfg;
    std::chrono::seconds want;
    bool ok;
  };
  const std::vector<duration_case> cases = {
      {"absent is the default", json::object(), std::chrono::seconds(300), true},
      {"null is the default", {{"d", nullptr}}, std::chrono::seconds(300), true},
      {"seconds", {{"d", 90}}, std::chrono::seconds(90), true},
      {"go duration", {{"d", "1h30m"}}, std::chrono::seconds(5400), true},
      {"days", {{"d", "2d"}}, std::chrono::seconds(172800), true},
      {"zero", {{"d", "0"}}, std::chrono::seconds(0), true},
      {"garbage", {{"d", "soon"}}, {}, false},
      {"negative", {{"d", -5}}, {}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = duration(c.cfg, "d", std::chrono::seconds(300));
    if (c.ok) {
      ASSERT_TRUE(r) << r.err().message;
      EXPECT_EQ(*r, c.want);
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.err().code, make_error_code(errc::invalid_request));
      EXPECT_EQ(r.err().message.rfind("invalid d: ", 0), 0u) << r.err().message;
    }
  }
}

}  // namespace
}  // namespace credbroker::plugins::common
