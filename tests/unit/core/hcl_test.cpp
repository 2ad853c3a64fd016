#include "broker/core/hcl.hpp"

#include <gtest/gtest.h>

namespace credbroker::hcl {
namespace {

// One line per malformed document: the exact error, with line and column.
struct bad_case {
  const char* text;
  const char* error;
};

class hcl_errors : public testing::TestWithParam<bad_case> {};

TEST_P(hcl_errors, names_line_column_and_cause) {
  auto d = parse(GetParam().text);
  ASSERT_FALSE(d) << GetParam().text;
  EXPECT_EQ(d.err().message, GetParam().error);
  EXPECT_EQ(d.err().code, make_error_code(errc::invalid_request));
}

INSTANTIATE_TEST_SUITE_P(
    table, hcl_errors,
    testing::Values(
        bad_case{"path \"a\" {\n  capabilities = [\"read\"\n}", "line 3, column 1: expected ',' or ']' in a list, found '}'"},
        bad_case{"path \"a\" {\n  capabilities = [\"read\"]\n", "line 1, column 10: unterminated block: expected '}'"},
        bad_case{"path \"a {}", "line 1, column 6: unterminated string"},
        bad_case{"path \"a\nb\" {}", "line 1, column 6: unterminated string (newline before the closing quote)"},
        bad_case{"path \"a\" { capabilities = read }", "line 1, column 27: expected a value, found identifier \"read\" (strings must be quoted)"},
        bad_case{"path \"a\" { x = \"\\q\" }", "line 1, column 17: invalid escape sequence '\\q'"},
        bad_case{"path \"a\" { x = \"\\u12\" }", "line 1, column 17: invalid \\u escape: expected 4 hexadecimal digits"},
        bad_case{"path \"a\" capabilities", "line 1, column 10: expected '=' or '{' after \"path\", found 'c'"},
        bad_case{"}", "line 1, column 1: unexpected '}' without a matching '{'"},
        bad_case{"= 3", "line 1, column 1: expected a key, found '='"},
        bad_case{"length = 1.", "line 1, column 10: invalid number \"1.\": expected a digit after '.'"},
        bad_case{"length = -", "line 1, column 10: invalid number: expected a digit after '-'"},
        bad_case{"length = 12ab", "line 1, column 10: invalid number: unexpected 'a' after \"12\""},
        bad_case{"a = 1 b = 2", "line 1, column 7: expected a newline or ',' after the value of \"a\", found 'b'"},
        bad_case{"a =\n1", "line 1, column 4: expected a value after '=' for \"a\""},
        bad_case{"a = <<EOF\nx\nEOF", "line 1, column 5: heredoc strings are not supported; use a quoted string"},
        bad_case{"/* open", "line 1, column 1: unterminated comment"},
        bad_case{"a = [1, 2", "line 1, column 5: unterminated list: expected ']'"},
        // The JSON form: a number too large for a double (found by the fuzzer: it escaped as an exception).
        bad_case{"{\"path\": {\"a\": {\"capabilities\": 1e999}}}", "invalid JSON: a number is out of range"},
        bad_case{"{\"p\": 99e699,", "invalid JSON: a number is out of range"},
        bad_case{"a \"x\" = 3", "line 1, column 9: a key with labels must be followed by a block '{'"},
        bad_case{"a = \x01", "line 1, column 5: expected a value, found byte 0x01"},
        bad_case{"{\"path\": }", "invalid JSON at byte 10"},
        bad_case{"{\"path\": {\"a\": null}}", "null is not a valid value"}));

TEST(hcl, labels_fold_into_the_same_tree_as_json) {
  const auto h = parse("# comment\npath \"secret/*\" {\n  capabilities = [\"read\", \"list\",]  // trailing comma\n}\n");
  const auto j = parse(R"({"path": {"secret/*": {"capabilities": ["read", "list"]}}})");
  ASSERT_TRUE(h);
  ASSERT_TRUE(j);
  for (const auto* d : {&*h, &*j}) {
    ASSERT_EQ(d->items.size(), 1u);
    EXPECT_EQ(d->items[0].key, "path");
    ASSERT_EQ(d->items[0].v.k, value::kind::object);
    ASSERT_EQ(d->items[0].v.object.size(), 1u);
    const item& p = d->items[0].v.object[0];
    EXPECT_EQ(p.key, "secret/*");
    ASSERT_EQ(p.v.object.size(), 1u);
    EXPECT_EQ(p.v.object[0].key, "capabilities");
    ASSERT_EQ(p.v.object[0].v.list.size(), 2u);
    EXPECT_EQ(p.v.object[0].v.list[1].str, "list");
  }
  EXPECT_EQ(h->items[0].pos.line, 2);
  EXPECT_EQ(h->items[0].v.object[0].v.object[0].v.pos.line, 3);
}

TEST(hcl, values_of_every_kind) {
  auto d = parse("length = 20\nneg = -3.5\nflag = true\ns = \"a\\\"b\\u00e9\"\nrule \"charset\" {\n  charset = \"abc\"\n  min-chars = 1\n}\nblock = { x = 1, y = [] }\n/* multi\nline */ last = false");
  ASSERT_TRUE(d) << d.err().message;
  ASSERT_EQ(d->items.size(), 7u);
  EXPECT_EQ(d->items[0].v.number, 20);
  EXPECT_EQ(d->items[1].v.number, -3.5);
  EXPECT_TRUE(d->items[2].v.boolean);
  EXPECT_EQ(d->items[3].v.str, "a\"b\xc3\xa9");
  EXPECT_EQ(d->items[4].v.object[0].key, "charset");
  EXPECT_EQ(d->items[4].v.object[0].v.object[1].key, "min-chars");
  EXPECT_EQ(d->items[5].v.object.size(), 2u);
  EXPECT_FALSE(d->items[6].v.boolean);
}

TEST(hcl, empty_and_comment_only_documents_are_empty) {
  for (const char* t : {"", "   \n\n", "# nothing\n// here\n/* at all */"}) {
    auto d = parse(t);
    ASSERT_TRUE(d) << t;
    EXPECT_TRUE(d->items.empty());
  }
}

TEST(hcl, nesting_is_bounded) {
  std::string deep = "a = " + std::string(200, '[');
  auto d = parse(deep);
  ASSERT_FALSE(d);
  EXPECT_NE(d.err().message.find("nesting deeper than 64 levels"), std::string::npos);
  std::string deep_json(200, '[');
  deep_json = "{\"a\": " + deep_json + std::string(200, ']') + "}";
  EXPECT_FALSE(parse(deep_json));
}

}  // namespace
}  // namespace credbroker::hcl
