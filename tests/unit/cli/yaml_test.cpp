#include <gtest/gtest.h>

#include "cli/yaml.hpp"

using namespace credbroker::cli;
using json = nlohmann::json;

namespace {

struct scalar_case {
  json value;
  std::string yaml;
};

// The quoting table: what may be plain, what must be quoted, and how escapes look.
TEST(yaml, scalar_quoting_table) {
  const std::vector<scalar_case> cases = {
      {nullptr, "null"},
      {true, "true"},
      {false, "false"},
      {3600, "3600"},
      {-7, "-7"},
      {1.5, "1.5"},
      {1e20, "1.0e+20"},
      {2.0, "2.0"},
      {"v-token-app-x1", "v-token-app-x1"},
      {"database/creds/app/AbC", "database/creds/app/AbC"},
      {"/tmp/x.log", "/tmp/x.log"},
      {"token based credentials", "token based credentials"},
      {"", "\"\""},
      {"true", "\"true\""},
      {"No", "\"No\""},
      {"ON", "\"ON\""},
      {"y", "\"y\""},
      {"null", "\"null\""},
      {"~", "\"~\""},
      {"3600", "\"3600\""},
      {"1e3", "\"1e3\""},
      {".inf", "\".inf\""},
      {"-dash", "\"-dash\""},
      {"0x1F", "\"0x1F\""},
      {"2026-01-02", "\"2026-01-02\""},
      {"a: b", "\"a: b\""},
      {"a #b", "\"a #b\""},
      {"trailing ", "\"trailing \""},
      {" leading", "\" leading\""},
      {"key:", "\"key:\""},
      {"{x}", "\"{x}\""},
      {"*alias", "\"*alias\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"two\nlines", "\"two\\nlines\""},
      {"tab\there", "\"tab\\there\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"del\x7f", "\"del\\u007F\""},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"line\xe2\x80\xa8sep", "\"line\\u2028sep\""},
      {"\xc2\x85next", "\"\\u0085next\""},
      {"bom\xef\xbb\xbf", "\"bom\\uFEFF\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value.dump());
    EXPECT_EQ(yaml_scalar(c.value), c.yaml);
  }
}

TEST(yaml, block_layout_as_go_yaml_writes_it) {
  const json v = json::parse(R"({"data": {"password": "A1a-x", "ttl": 3600}, "policies": ["default", "root"],
                                 "empty_map": {}, "empty_list": [], "warnings": null,
                                 "nested": [{"a": 1, "b": [1, 2]}, [3, 4], []]})");
  EXPECT_EQ(to_yaml(v),
            "data:\n"
            "  password: A1a-x\n"
            "  ttl: 3600\n"
            "empty_list: []\n"
            "empty_map: {}\n"
            "nested:\n"
            "- a: 1\n"
            "  b:\n"
            "  - 1\n"
            "  - 2\n"
            "- - 3\n"
            "  - 4\n"
            "- []\n"
            "policies:\n"
            "- default\n"
            "- root\n"
            "warnings: null\n");
}

TEST(yaml, top_level_scalars_lists_and_long_keys) {
  EXPECT_EQ(to_yaml(json("s3cr3t")), "s3cr3t\n");
  EXPECT_EQ(to_yaml(json::array({"a", "b"})), "- a\n- b\n");
  EXPECT_EQ(to_yaml(json::object()), "{}\n");
  const std::string long_key(1200, 'k');
  EXPECT_EQ(to_yaml(json{{long_key, {{"x", 1}}}}), "? " + long_key + "\n:\n  x: 1\n");
  EXPECT_EQ(to_yaml(json{{long_key, 1}}), "? " + long_key + "\n: 1\n");
}

}  // namespace
