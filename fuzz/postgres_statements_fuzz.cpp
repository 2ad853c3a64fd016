// libFuzzer target: PostgreSQL statement splitting and placeholder substitution
// (plugins/postgres/statements) on arbitrary bytes. The input is "<template>\0<value>" (no NUL: a
// fixed value made of quotes, backslashes and dollar tags); the first byte's low bit picks the
// session's standard_conforming_strings.
// Invariants checked: no crash, no hang, no sanitizer report; tokens give their input back;
// splitting is deterministic and yields trimmed, non-empty statements; and the injection oracle:
// every statement rendered with the value has the same lexical structure (token kinds, the code
// between them, recursively inside DO blocks and function bodies) as rendered with the harmless
// value "v", so no value can end its quoting context.
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/postgres_statements.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_targets.hpp"
#include "plugins/postgres/statements.hpp"
#include "tests/support/libpq_quoting.hpp"

namespace {

using namespace credbroker::plugins::postgres;

using credbroker::test::libpq_like;

// The lexical shape of sql: kinds in order, the code text between literals, comments, and the shape
// of dollar quotes that hold code. What a value may change: only the contents of its literals, and
// dollar tags.
void structure(std::string_view sql, bool standard, std::string& out, int depth = 0) {
  if (depth > 64) {
    out += "<deep>";
    return;
  }
  const auto tokens = tokenize(sql, standard);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    switch (t.k) {
      case sql_token::kind::code: out += "C[" + std::string(t.text) + "]"; break;
      case sql_token::kind::comment: out += "#[" + std::string(t.text) + "]"; break;
      case sql_token::kind::string: out += "S"; break;
      case sql_token::kind::escape_string: out += "E"; break;
      case sql_token::kind::identifier: out += "I"; break;
      case sql_token::kind::dollar: {
        const bool closed = t.text.size() == t.body.size() + 2 * t.tag.size();
        if (closed && dollar_holds_code(tokens, i)) {
          out += "D{";
          structure(t.body, standard, out, depth + 1);
          out += "}";
        } else {
          out += closed ? "L" : "U";
        }
        break;
      }
    }
  }
}

}  // namespace

int credbroker::fuzz::fuzz_postgres_statements_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool standard = (data[0] & 1) == 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto nul = input.find('\0');
  const std::string_view tmpl = input.substr(0, nul);
  const std::string value = nul == std::string_view::npos ? std::string("it's \\ \"q\" $p$ $$ $cb$ E'\\''")
                                                          : std::string(input.substr(nul + 1));
  for (const bool s : {true, false}) {
    std::string back;
    for (const auto& t : tokenize(tmpl, s)) back += t.text;
    if (back != tmpl) std::abort();
  }
  const std::vector<std::string> configured{std::string(tmpl)};
  const auto statements = split_statements(configured);
  if (statements != split_statements(configured)) std::abort();
  for (const auto& st : statements) {
    if (st.empty() || std::isspace(static_cast<unsigned char>(st.front())) ||
        std::isspace(static_cast<unsigned char>(st.back()))) {
      std::abort();
    }
  }
  const quoting q = libpq_like(standard);
  for (const auto& st : statements) {
    const std::string harmless = substitute(st, {"v", "v", "v"}, q);
    const std::string rendered = substitute(st, {value, value, value}, q);
    std::string expected, got;
    structure(harmless, standard, expected);
    structure(rendered, standard, got);
    if (expected != got) {  // the value changed the statement's structure: an injection
      std::fprintf(stderr, "statement: %s\nwith v: %s\nwith the value: %s\n", st.c_str(), harmless.c_str(), rendered.c_str());
      std::abort();
    }
  }
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_postgres_statements_one(data, size);
}
#endif
