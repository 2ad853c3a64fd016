#include "plugins/postgres/statements.hpp"

#include <gtest/gtest.h>

namespace credbroker::plugins::postgres {
namespace {

// The same rules as libpq's quoting with standard_conforming_strings on.
const quoting q{[](std::string_view v) {
                  std::string out = "'";
                  for (char c : v) {
                    if (c == '\'') out += '\'';
                    out += c;
                  }
                  return out + "'";
                },
                [](std::string_view v) {
                  std::string out = "\"";
                  for (char c : v) {
                    if (c == '"') out += '"';
                    out += c;
                  }
                  return out + "\"";
                }};

TEST(statements, split_as_vault) {
  using v = std::vector<std::string>;
  EXPECT_EQ(split_statements({"CREATE ROLE \"{{name}}\"; GRANT SELECT ON t TO \"{{name}}\";"}),
            (v{"CREATE ROLE \"{{name}}\"", "GRANT SELECT ON t TO \"{{name}}\""}));
  EXPECT_EQ(split_statements({"  ", "", ";;"}), v{});
  EXPECT_EQ(split_statements({R"(["A; B", "C"])"}), (v{"A", "B", "C"}));
  // base64 of "SELECT 1; SELECT 2"
  EXPECT_EQ(split_statements({"U0VMRUNUIDE7IFNFTEVDVCAy"}), (v{"SELECT 1", "SELECT 2"}));
  // a DO block stays whole
  const std::string block = "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN CREATE ROLE x; END IF; END $$;";
  EXPECT_EQ(split_statements({block}), v{block});
  // ';' inside quotes does not split
  EXPECT_EQ(split_statements({"COMMENT ON ROLE x IS 'a;b'; SELECT 1"}), (v{"COMMENT ON ROLE x IS 'a;b'", "SELECT 1"}));
  // "ENDS" is not END
  EXPECT_EQ(split_statements({"SELECT 'x' AS ends; SELECT 2"}), (v{"SELECT 'x' AS ends", "SELECT 2"}));
}

struct subst_case {
  const char* statement;
  placeholders values;
  const char* out;
};

TEST(statements, substitution_is_quoted_by_context) {
  const std::vector<subst_case> cases = {
      {R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}')",
       {"v-app", "pw", "2026-01-01 00:00:05+0000"},
       R"(CREATE ROLE "v-app" WITH LOGIN PASSWORD 'pw' VALID UNTIL '2026-01-01 00:00:05+0000')"},
      // injection attempts stay inside their quotes
      {R"(CREATE ROLE "{{name}}" PASSWORD '{{password}}')", {R"(x"; DROP TABLE t; --)", R"(p'); DROP TABLE t; --)", ""},
       R"(CREATE ROLE "x""; DROP TABLE t; --" PASSWORD 'p''); DROP TABLE t; --')"},
      // bare placeholders become complete quoted tokens
      {"ALTER ROLE {{username}} PASSWORD {{password}}", {"a b", "it's", ""}, R"(ALTER ROLE "a b" PASSWORD 'it''s')"},
      // '' inside a literal keeps us inside it
      {"SELECT 'it''s {{name}}'", {"o'k", "", ""}, "SELECT 'it''s o''k'"},
      // comments are left alone; unknown placeholders too
      {"-- {{name}}\nSELECT {{other}}", {"n", "", ""}, "-- {{name}}\nSELECT {{other}}"},
      {"/* {{password}} */ SELECT '{{name}}'", {"n", "secret", ""}, "/* {{password}} */ SELECT 'n'"},
      // DO blocks: the inner quotes count
      {R"(DO $$ BEGIN CREATE ROLE "{{name}}" PASSWORD '{{password}}'; END $$)", {"u\"", "p'", ""},
       R"(DO $$ BEGIN CREATE ROLE "u""" PASSWORD 'p'''; END $$)"},
  };
  for (const auto& c : cases) EXPECT_EQ(substitute(c.statement, c.values, q), c.out) << c.statement;
}

TEST(statements, scram_verifier_matches_postgresql) {
  // RFC 7677's example (password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations); the
  // integration tests also log in to PostgreSQL with a verifier made here.
  const std::string salt = "[m\x99h\x9d\x12" "5\x8e\xec\xa0K\x14\x12" "6\xfa\x81";
  const std::string v = scram_sha256_verifier("pencil", salt, 4096);
  EXPECT_EQ(v, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
               "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
  EXPECT_EQ(format_expiration(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'005))),
            "2023-11-14 22:13:25+0000");
}

}  // namespace
}  // namespace credbroker::plugins::postgres
