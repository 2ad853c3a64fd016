#include "plugins/postgres/statements.hpp"

#include <gtest/gtest.h>

#include "support/libpq_quoting.hpp"

namespace credbroker::plugins::postgres {
namespace {

using test::libpq_like;
const quoting q = libpq_like(true);

TEST(statements, split_as_vault) {
  using v = std::vector<std::string>;
  EXPECT_EQ(split_statements({"CREATE ROLE \"{{name}}\"; GRANT SELECT ON t TO \"{{name}}\";"}),
            (v{"CREATE ROLE \"{{name}}\"", "GRANT SELECT ON t TO \"{{name}}\""}));
  EXPECT_EQ(split_statements({"  ", "", ";;"}), v{});
  EXPECT_EQ(split_statements({R"(["A; B", "C"])"}), (v{"A", "B", "C"}));
  // base64 of "SELECT 1; SELECT 2"
  EXPECT_EQ(split_statements({"U0VMRUNUIDE7IFNFTEVDVCAy"}), (v{"SELECT 1", "SELECT 2"}));
  // a DO block stays whole
  const std::string block = "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN CREATE ROLE x; END IF; END $$";
  EXPECT_EQ(split_statements({block + ";"}), v{block});
  // ';' inside quotes does not split
  EXPECT_EQ(split_statements({"COMMENT ON ROLE x IS 'a;b'; SELECT 1"}), (v{"COMMENT ON ROLE x IS 'a;b'", "SELECT 1"}));
  // "ENDS" is not END
  EXPECT_EQ(split_statements({"SELECT 'x' AS ends; SELECT 2"}), (v{"SELECT 'x' AS ends", "SELECT 2"}));
}

TEST(statements, split_knows_every_quoting_context) {
  using v = std::vector<std::string>;
  const struct {
    const char* in;
    v out;
  } cases[] = {
      {"ALTER ROLE x PASSWORD $p$a;b$p$; SELECT 1", {"ALTER ROLE x PASSWORD $p$a;b$p$", "SELECT 1"}},
      {"SELECT E'a\\';b'; SELECT 2", {"SELECT E'a\\';b'", "SELECT 2"}},
      {"SELECT \"a;b\"; SELECT 2", {"SELECT \"a;b\"", "SELECT 2"}},
      {"/* a /* ; */ ; */ SELECT 1; SELECT 2", {"/* a /* ; */ ; */ SELECT 1", "SELECT 2"}},
      {"SELECT 1 -- a; b\n; SELECT 2", {"SELECT 1 -- a; b", "SELECT 2"}},
      {"SELECT a$b$c; SELECT 2", {"SELECT a$b$c", "SELECT 2"}},  // a$b$c is an identifier
      {"SELECT $1; SELECT 2", {"SELECT $1", "SELECT 2"}},        // a parameter, not a tag
      {"CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql; SELECT 2",
       {"CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql", "SELECT 2"}},
      {"SELECT 'unterminated; x", {"SELECT 'unterminated; x"}},
      // BEGIN ... END outside dollar quotes (an SQL-standard function body) stays whole, as in Vault
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2",
       {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(split_statements({c.in}), c.out);
  }
}

TEST(statements, tokens_give_the_input_back) {
  for (const char* sql : {"SELECT 'a''b', E'c\\'d', \"e\"\"f\", $x$ $y$ $x$, -- g\n/* h /* i */ */ x", "$", "'", "E'\\",
                          "$a", "$$", "/*", "--", "a$$b$$"}) {
    SCOPED_TRACE(sql);
    std::string back;
    for (const auto& t : tokenize(sql)) back += t.text;
    EXPECT_EQ(back, sql);
  }
  const auto t = tokenize("x E'a' $q$b$q$ \"c\"");
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].text, "x E");
  EXPECT_EQ(t[1].k, sql_token::kind::escape_string);
  EXPECT_EQ(t[3].k, sql_token::kind::dollar);
  EXPECT_EQ(t[3].tag, "$q$");
  EXPECT_EQ(t[3].body, "b");
  EXPECT_EQ(t[5].k, sql_token::kind::identifier);
}

struct subst_case {
  std::string statement;
  placeholders values;
  std::string out;
};

void check(const std::vector<subst_case>& cases, const quoting& with) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.statement);
    SCOPED_TRACE("value: " + c.values.name + c.values.password);
    EXPECT_EQ(substitute(c.statement, c.values, with), c.out);
  }
}

TEST(statements, substitution_is_quoted_by_context) {
  check({
            {R"(CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}')",
             {"v-app", "pw", "2026-01-01 00:00:05+0000"},
             R"(CREATE ROLE "v-app" WITH LOGIN PASSWORD 'pw' VALID UNTIL '2026-01-01 00:00:05+0000')"},
            // injection attempts stay inside their quotes
            {R"(CREATE ROLE "{{name}}" PASSWORD '{{password}}')", {R"(x"; DROP TABLE t; --)", R"(p'); DROP TABLE t; --)", ""},
             R"(CREATE ROLE "x""; DROP TABLE t; --" PASSWORD 'p''); DROP TABLE t; --')"},
            // bare placeholders become complete quoted tokens
            {"ALTER ROLE {{username}} PASSWORD {{password}}", {"a b", "it's", ""}, R"(ALTER ROLE "a b" PASSWORD 'it''s')"},
            // ... never glued to an identifier character into an E'...' or U&'...' string
            {"PASSWORD E{{password}}", {"", R"~('; DROP TABLE t; --)~", ""}, R"~(PASSWORD E '''; DROP TABLE t; --')~"},
            {"SELECT U&{{name}}", {"a", "", ""}, R"(SELECT U& "a")"},
            {"SELECT ({{password}})", {"", "x", ""}, "SELECT ('x')"},
            // ... nor to a string that just closed (found by fuzz/postgres_statements_fuzz)
            {"SELECT E'a'{{password}}", {"", R"~(\'; DROP TABLE t; --)~", ""}, R"~(SELECT E'a' '\''; DROP TABLE t; --')~"},
            // '' inside a literal keeps us inside it
            {"SELECT 'it''s {{name}}'", {"o'k", "", ""}, "SELECT 'it''s o''k'"},
            // comments are left alone; unknown placeholders too
            {"-- {{name}}\nSELECT {{other}}", {"n", "", ""}, "-- {{name}}\nSELECT {{other}}"},
            {"/* {{password}} */ SELECT '{{name}}'", {"n", "secret", ""}, "/* {{password}} */ SELECT 'n'"},
            {"/* a /* {{password}} */ '{{password}}' */ SELECT 1", {"n", "secret", ""},
             "/* a /* {{password}} */ '{{password}}' */ SELECT 1"},
        },
        q);
}

// One table per context a placeholder can stand in. R"~( )~" keeps the backslashes readable.
TEST(statements, single_quoted_with_standard_conforming_strings_on) {
  check({
            {"PASSWORD '{{password}}'", {"", "it's", ""}, "PASSWORD 'it''s'"},
            {"PASSWORD '{{password}}'", {"", R"~(back\slash)~", ""}, R"~(PASSWORD 'back\slash')~"},
            {"PASSWORD '{{password}}'", {"", R"~(\'; DROP TABLE t; --)~", ""}, R"~(PASSWORD '\''; DROP TABLE t; --')~"},
            // a backslash before a quote does not escape it with the setting on
            {R"~(SELECT 'a\' || '{{password}}')~", {"", "x'", ""}, R"~(SELECT 'a\' || 'x''')~"},
        },
        q);
}

TEST(statements, single_quoted_with_standard_conforming_strings_off) {
  check({
            {"PASSWORD '{{password}}'", {"", R"~(back\slash)~", ""}, R"~(PASSWORD 'back\\slash')~"},
            {"PASSWORD '{{password}}'", {"", R"~(\'; DROP TABLE t; --)~", ""}, R"~(PASSWORD '\\''; DROP TABLE t; --')~"},
            // \' does not end the literal with the setting off: the placeholder is still inside it
            {R"~(SELECT 'a\' || {{password}}')~", {"", "x'", ""}, R"~(SELECT 'a\' || x''')~"},
            // an escaped { starts no placeholder (found by fuzz/postgres_statements_fuzz)
            {R"~(SELECT '\{{password}}')~", {"", R"~(\'x)~", ""}, R"~(SELECT '\{{password}}')~"},
        },
        libpq_like(false));
}

TEST(statements, escape_string) {
  for (bool scs : {true, false}) {
    SCOPED_TRACE(scs ? "standard_conforming_strings on" : "standard_conforming_strings off");
    check({
              {"PASSWORD E'{{password}}'", {"", R"~(back\slash)~", ""}, R"~(PASSWORD E'back\\slash')~"},
              {"PASSWORD e'{{password}}'", {"", R"~(it's\)~", ""}, R"~(PASSWORD e'it''s\\')~"},
              {"PASSWORD E'{{password}}'", {"", R"~(\'; DROP TABLE t; --)~", ""}, R"~(PASSWORD E'\\''; DROP TABLE t; --')~"},
              // \' inside an escape string does not end it
              {R"~(SELECT E'a\'{{password}}')~", {"", R"~(\)~", ""}, R"~(SELECT E'a\'\\')~"},
              // an escaped { starts no placeholder (the value would lose a character to the \)
              {R"~(SELECT E'\{{password}}')~", {"", "x'", ""}, R"~(SELECT E'\{{password}}')~"},
              // not an escape string: this E ends an identifier
              {"SELECT typE'{{password}}'", {"", "a'", ""}, "SELECT typE'a'''"},
          },
          libpq_like(scs));
  }
}

TEST(statements, dollar_quoted_literal) {
  check({
            {"PASSWORD $p${{password}}$p$", {"", R"~(it's \ "x")~", ""}, R"~(PASSWORD $p$it's \ "x"$p$)~"},
            {"PASSWORD $${{password}}$$", {"", "o'k", ""}, "PASSWORD $$o'k$$"},
            // the value holds the delimiter: another tag
            {"PASSWORD $p${{password}}$p$", {"", "a$p$b", ""}, "PASSWORD $cb$a$p$b$cb$"},
            {"PASSWORD $p${{password}}$p$", {"", "$cb$ and $p$", ""}, "PASSWORD $cb1$$cb$ and $p$$cb1$"},
            // a value ending in the start of the delimiter would end the string early
            {"PASSWORD $p${{password}}$p$", {"", "x$p", ""}, "PASSWORD $cb$x$p$cb$"},
            {"PASSWORD $${{password}}$$", {"", "x$", ""}, "PASSWORD $cb$x$$cb$"},
            {"ALTER ROLE $n${{name}}$n$", {"v-a", "", ""}, "ALTER ROLE $n$v-a$n$"},
        },
        q);
}

TEST(statements, dollar_quoted_code) {
  check({
            // DO blocks and function bodies are code: their inner quotes count
            {R"(DO $$ BEGIN CREATE ROLE "{{name}}" PASSWORD '{{password}}'; END $$)", {"u\"", "p'", ""},
             R"(DO $$ BEGIN CREATE ROLE "u""" PASSWORD 'p'''; END $$)"},
            {"do language plpgsql $b$ BEGIN EXECUTE format('CREATE ROLE %I', {{name}}); END $b$", {"n", "", ""},
             "do language plpgsql $b$ BEGIN EXECUTE format('CREATE ROLE %I', \"n\"); END $b$"},
            {"CREATE FUNCTION f() RETURNS text AS $f$ SELECT '{{password}}' $f$ LANGUAGE sql", {"", "a'b", ""},
             "CREATE FUNCTION f() RETURNS text AS $f$ SELECT 'a''b' $f$ LANGUAGE sql"},
            // the rendered body holds the block's delimiter: the block gets another tag
            {"DO $$ BEGIN ALTER ROLE x PASSWORD '{{password}}'; END $$", {"", "a$$b", ""},
             "DO $cb$ BEGIN ALTER ROLE x PASSWORD 'a$$b'; END $cb$"},
            // a dollar-quoted literal inside a block is a literal
            {"DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ' || quote_literal($p${{password}}$p$); END $$", {"", "it's", ""},
             "DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ' || quote_literal($p$it's$p$); END $$"},
            {"DO $$ BEGIN PERFORM $p${{password}}$p$; END $$", {"", "$$", ""}, "DO $cb$ BEGIN PERFORM $p$$$$p$; END $cb$"},
            // an unterminated dollar quote is left as written: a value with its delimiter would close it
            {"DO $$ BEGIN {{password}}", {"", "x$$; DROP TABLE t; --", ""}, "DO $$ BEGIN {{password}}"},
        },
        q);
}

TEST(statements, identifiers) {
  check({
            {"CREATE ROLE \"{{name}}\"", {"a\"b", "", ""}, "CREATE ROLE \"a\"\"b\""},
            {"CREATE ROLE \"pre-{{username}}-post\"", {"x", "", ""}, "CREATE ROLE \"pre-x-post\""},
        },
        q);
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

TEST(statements, scram_iterations_for_a_credential) {
  struct row {
    const char* name;
    int configured;
    double bits;
    int used;
  };
  const std::vector<row> rows = {
      {"the default policy gets the configured low count", 1, 117.5, 1},
      {"exactly 100 bits is enough", 16, 100.0, 16},
      {"just under 100 bits gets PostgreSQL's default", 1, 99.99, 4096},
      {"20 lowercase letters (94 bits)", 64, 94.0, 4096},
      {"unknown strength (0: a password not from a policy)", 1, 0, 4096},
      {"4096 configured: always 4096", 4096, 13.3, 4096},
      {"more than 4096 configured is kept for every password", 10000, 13.3, 10000},
      {"more than 4096 configured, strong password", 10000, 190.5, 10000},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(scram_iterations_for(r.configured, r.bits), r.used);
  }
  // The count chosen is the count in the verifier PostgreSQL stores and reads back at login.
  const std::string v = scram_sha256_verifier("pencil", "0123456789abcdef", scram_iterations_for(1, 117.5));
  EXPECT_EQ(v.rfind("SCRAM-SHA-256$1:", 0), 0u) << v;
}

}  // namespace
}  // namespace credbroker::plugins::postgres
