#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/kv_args.hpp"

using namespace credbroker::cli;
using json = nlohmann::json;

namespace {

std::string temp_file(const std::string& contents) {
  char name[] = "/tmp/credbroker-kv-XXXXXX";
  const int fd = ::mkstemp(name);
  ::close(fd);
  std::ofstream(name, std::ios::binary) << contents;
  return name;
}

TEST(kv_args, vault_kv_builder_table) {
  const std::string sql = temp_file("CREATE ROLE \"{{name}}\";\n");
  const std::string obj = temp_file(R"({"db_name": "main", "max_ttl": 60})");
  struct kv_case {
    std::vector<std::string> args;
    std::string in;
    json want;
  };
  const std::vector<kv_case> cases = {
      {{}, "", nullptr},
      {{""}, "", json::object()},
      {{"a=1", "b=x=y"}, "", {{"a", "1"}, {"b", "x=y"}}},
      {{"a="}, "", {{"a", ""}}},
      {{"s=@" + sql}, "", {{"s", "CREATE ROLE \"{{name}}\";\n"}}},
      {{"s=\\@literal"}, "", {{"s", "@literal"}}},
      {{"p=-"}, "from stdin\n", {{"p", "from stdin\n"}}},
      {{"@" + obj, "max_ttl=120"}, "", {{"db_name", "main"}, {"max_ttl", {60, "120"}}}},  // a repeat, as Vault's
      {{"-"}, R"({"k": ["v"]})", {{"k", {"v"}}}},
      {{"r=a", "r=b", "r=c"}, "", {{"r", {"a", "b", "c"}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(json(c.args).dump());
    std::istringstream in(c.in);
    auto r = parse_kv_args(c.args, in);
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(*r, c.want);
  }
  std::remove(sql.c_str());
  std::remove(obj.c_str());
}

TEST(kv_args, errors_name_the_argument) {
  struct bad_case {
    std::vector<std::string> args;
    std::string in;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {{"novalue"}, "", "Invalid key/value pair 'novalue': format must be key=value"},
      {{"a=-", "b=-"}, "x", "Invalid key/value pair 'b=-': stdin already consumed"},
      {{"-"}, "[1]", "Invalid key/value pair '-': failed to parse JSON input: expected one JSON object"},
      {{"k=@/nonexistent/file"}, "", "Invalid key/value pair 'k=@/nonexistent/file': error reading file: open /nonexistent/file: No such file or directory"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    std::istringstream in(c.in);
    auto r = parse_kv_args(c.args, in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().message, c.message);
  }
}

}  // namespace
