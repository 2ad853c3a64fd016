#include <gtest/gtest.h>

#include "cli/output.hpp"
#include "cli/table.hpp"

using namespace credbroker::cli;
using json = nlohmann::json;

namespace {

const json creds = json::parse(R"({"request_id": "r-1", "lease_id": "database/creds/app/AbC", "lease_duration": 3600,
  "renewable": true, "data": {"username": "v-app-1", "password": "p4ss", "ttl": 90}, "warnings": null,
  "auth": null, "wrap_info": null, "mount_type": "database"})");

const json login = json::parse(R"({"request_id": "r-2", "lease_id": "", "lease_duration": 0, "renewable": false,
  "data": null, "warnings": ["Policy \"x\" does not exist"], "auth": {"client_token": "hvs.T", "accessor": "acc",
  "policies": ["default", "dba"], "token_policies": ["default", "dba"], "metadata": {"role_name": "app"},
  "lease_duration": 2764800, "renewable": true}})");

TEST(output, columns_pad_trim_and_show_empty_as_na) {
  EXPECT_EQ(table_output({"Key", "Value"}, {{"lease_id", "x"}, {"description", "  "}, {"é", "y"}}),
            "Key            Value\n"
            "---            -----\n"
            "lease_id       x\n"
            "description    n/a\n"
            "é              y");
}

TEST(output, secret_table_lease_then_data_with_durations) {
  EXPECT_EQ(secret_table(creds),
            "Key                Value\n"
            "---                -----\n"
            "lease_id           database/creds/app/AbC\n"
            "lease_duration     1h\n"
            "lease_renewable    true\n"
            "password           p4ss\n"
            "ttl                1m30s\n"
            "username           v-app-1");
}

TEST(output, secret_table_auth_rows_and_warnings) {
  EXPECT_EQ(secret_table(login),
            "Key                     Value\n"
            "---                     -----\n"
            "token                   hvs.T\n"
            "token_accessor          acc\n"
            "token_duration          768h\n"
            "token_renewable         true\n"
            "token_policies          [\"default\" \"dba\"]\n"
            "identity_policies       []\n"
            "policies                [\"default\" \"dba\"]\n"
            "token_meta_role_name    app");
  EXPECT_EQ(warnings_text(login), "WARNING! The following warnings were returned from Vault:\n\n  * Policy \"x\" does not exist\n\n");
}

TEST(output, refresh_interval_without_lease_id_and_root_token_infinity) {
  EXPECT_EQ(secret_table(json{{"lease_duration", 60}, {"lease_id", ""}, {"data", {{"k", "v"}}}}),
            "Key                 Value\n---                 -----\nrefresh_interval    1m\nk                   v");
  const json root = {{"auth", {{"client_token", "t"}, {"lease_duration", 0}}}};
  EXPECT_NE(secret_table(root).find("token_duration       ∞"), std::string::npos);
}

TEST(output, value_text_is_gos_percent_v) {
  EXPECT_EQ(value_text(json::parse(R"(["a", 1, true, null])")), "[a 1 true <nil>]");
  EXPECT_EQ(value_text(json::parse(R"({"b": [1], "a": {"x": "y"}})")), "map[a:map[x:y] b:[1]]");
  EXPECT_EQ(value_text(json(1.5)), "1.5");
}

TEST(output, human_durations_drop_zero_units) {
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, "0s"}, {1, "1s"}, {60, "1m"}, {90, "1m30s"}, {3600, "1h"}, {3601, "1h1s"}, {3660, "1h1m"}, {2764800, "768h"}, {-90, "-1m30s"}};
  for (const auto& [s, text] : cases) {
    SCOPED_TRACE(s);
    EXPECT_EQ(human_duration(s), text);
  }
  EXPECT_TRUE(looks_like_duration("creation_ttl"));
  EXPECT_TRUE(looks_like_duration("rotation_period"));
  EXPECT_FALSE(looks_like_duration("ttlx"));
}

TEST(output, json_keeps_the_vault_client_field_order) {
  const std::string out = format_secret(creds, output_format::json);
  EXPECT_LT(out.find("\"request_id\""), out.find("\"lease_id\""));
  EXPECT_LT(out.find("\"renewable\""), out.find("\"data\""));
  EXPECT_LT(out.find("\"warnings\": null"), out.find("\"mount_type\""));
  EXPECT_EQ(out.find("\"auth\""), std::string::npos);  // null auth left out, as Go's omitempty
  EXPECT_EQ(json::parse(out)["data"], creds["data"]);
}

TEST(output, field_rules_for_data_auth_and_wrap_info) {
  struct field_case {
    json secret;
    std::string field;
    std::optional<json> value;
  };
  const json wrapped = {{"wrap_info", {{"token", "wt"}, {"ttl", 300}}}, {"data", {{"x", 1}}}};
  const json nested = {{"data", {{"data", {{"k", "v"}}}}}};
  const std::vector<field_case> cases = {
      {creds, "password", json("p4ss")},
      {creds, "lease_id", json("database/creds/app/AbC")},
      {creds, "lease_duration", json(3600)},
      {creds, "refresh_interval", json(3600)},
      {creds, "data", creds["data"]},
      {creds, "token", std::nullopt},
      {login, "token", json("hvs.T")},
      {login, "token_duration", json(2764800)},
      {login, "policies", login["auth"]["policies"]},
      {login, "lease_id", std::nullopt},  // with auth, other names are data fields
      {wrapped, "wrapping_token", json("wt")},
      {wrapped, "wrapping_token_ttl", json(300)},
      {wrapped, "x", json(1)},
      {nested, "data", json{{"k", "v"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field + " of " + c.secret.dump());
    EXPECT_EQ(raw_field(c.secret, c.field), c.value);
  }
  EXPECT_EQ(format_field(json("p4ss"), output_format::table), "p4ss");
  EXPECT_EQ(format_field(json("p4ss"), output_format::json), "\"p4ss\"");
  EXPECT_EQ(format_field(json::array({"a"}), output_format::table), "[a]");
}

TEST(output, keys_and_formats) {
  EXPECT_EQ(format_keys(json::array({"b", "a"}), output_format::table), "Keys\n----\na\nb");
  EXPECT_EQ(format_keys(json::array({"b", "a"}), output_format::json), "[\n  \"b\",\n  \"a\"\n]");
  EXPECT_EQ(format_keys(json::array({"b", "a"}), output_format::yaml), "- b\n- a\n");
  EXPECT_TRUE(parse_output_format("yml").ok());
  auto bad = parse_output_format("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().message, "Invalid output format: xml");
}

}  // namespace
