#include <gtest/gtest.h>

#include "api/fields.hpp"

using namespace credbroker;
using namespace credbroker::api;
using nlohmann::json;

namespace {

struct convert_case {
  field_type type;
  json input;
  json expected;        // when ok
  const char* error;    // nullptr: ok
};

TEST(fields, conversion_table) {
  const std::vector<convert_case> cases = {
      {field_type::string, "x", "x", nullptr},
      {field_type::string, 5, "5", nullptr},
      {field_type::string, json::array(), nullptr, "expected a string, got array"},
      {field_type::integer, 5, 5, nullptr},
      {field_type::integer, "5", 5, nullptr},
      {field_type::integer, 5.0, 5, nullptr},
      {field_type::integer, 5.5, nullptr, "expected an integer, got 5.5"},
      {field_type::integer, "", 0, nullptr},
      {field_type::boolean, true, true, nullptr},
      {field_type::boolean, "False", false, nullptr},
      {field_type::boolean, 1, true, nullptr},
      {field_type::boolean, "yes", nullptr, "strconv.ParseBool: parsing \"yes\": invalid syntax"},
      {field_type::duration, "1h", 3600, nullptr},
      {field_type::string_slice, "a;b", json::array({"a;b"}), nullptr},
      {field_type::string_slice, "", json::array(), nullptr},
      {field_type::string_slice, json::array({" a ", "b"}), json::array({"a", "b"}), nullptr},
      {field_type::comma_slice, "a,b", json::array({"a", "b"}), nullptr},
      {field_type::comma_slice, "*", json::array({"*"}), nullptr},
      {field_type::map, json::object({{"a", 1}}), json::object({{"a", 1}}), nullptr},
      {field_type::map, "x", nullptr, "expected a map, got string"},
      {field_type::kv_pairs, json::object({{"a", 1}}), json::object({{"a", "1"}}), nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input.dump());
    auto r = convert_field(c.type, c.input);
    if (c.error == nullptr) {
      ASSERT_TRUE(r.ok()) << r.err().message;
      EXPECT_EQ(*r, c.expected);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.err().message, c.error);
    }
  }
}

TEST(fields, defaults_unknown_and_provided) {
  const std::vector<field_spec> specs = {{"ttl", field_type::duration, "1h"}, {"name", field_type::string}};
  auto fd = field_data::make(specs, json{{"name", nullptr}, {"other", 1}});
  ASSERT_TRUE(fd.ok());
  EXPECT_FALSE(fd->provided("ttl"));
  EXPECT_EQ(fd->get_duration("ttl")->count(), 3600);  // default
  EXPECT_FALSE(fd->provided("name"));
  EXPECT_FALSE(fd->get_string("name").has_value());
  EXPECT_EQ(fd->unknown(), std::vector<std::string>{"other"});
}

}  // namespace

// Vault's TypeKVPairs: an object of strings, or "k=v" alone or in a list.
TEST(fields, kv_pairs_take_vaults_forms) {
  const std::vector<std::pair<json, json>> ok = {
      {{{"a", "1"}, {"b", 2}}, {{"a", "1"}, {"b", "2"}}},
      {"a=1", {{"a", "1"}}},
      {json::array({"a=1", "b = x=y"}), {{"a", "1"}, {"b", "x=y"}}},
      {"", json::object()},
  };
  for (const auto& [in, want] : ok) {
    auto got = credbroker::api::convert_field(credbroker::api::field_type::kv_pairs, in);
    ASSERT_TRUE(got) << in.dump() << ": " << got.err().message;
    EXPECT_EQ(*got, want) << in.dump();
  }
  for (const json& bad : {json("novalue"), json("=x"), json::array({1}), json(5)}) {
    EXPECT_FALSE(credbroker::api::convert_field(credbroker::api::field_type::kv_pairs, bad)) << bad.dump();
  }
}

// A tune's TTL: null or "" keeps, "system" is the server's (0), anything else a duration.
TEST(fields, tune_ttls_as_vault_reads_them) {
  using credbroker::api::parse_tune_ttl;
  EXPECT_EQ(*parse_tune_ttl(nullptr), std::nullopt);
  EXPECT_EQ(*parse_tune_ttl(""), std::nullopt);
  EXPECT_EQ(*parse_tune_ttl("system"), std::chrono::seconds(0));
  EXPECT_EQ(*parse_tune_ttl("1h0m0s"), std::chrono::seconds(3600));
  EXPECT_EQ(*parse_tune_ttl(90), std::chrono::seconds(90));
  EXPECT_EQ(*parse_tune_ttl("0s"), std::chrono::seconds(0));
  EXPECT_FALSE(parse_tune_ttl("soon"));
  EXPECT_FALSE(parse_tune_ttl(-1));
}
