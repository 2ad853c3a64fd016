#pragma once
// SQL statement templates as Vault's PostgreSQL plugin reads them, and their safe rendering.
//
// tokenize: PostgreSQL's lexical contexts, as far as quoting goes: code, '...' strings (with
// standard_conforming_strings off, \ escapes in them too), E'...' escape strings (\ always
// escapes), "..." identifiers, $tag$...$tag$ dollar quotes, -- and (nested) /* */ comments. An
// unterminated token runs to the end. Concatenating the tokens' text gives the input back.
//
// split_statements: each configured string may be base64 (decoded first), a JSON array of strings,
// or several statements separated by ';' in code (never inside quotes, dollar quotes or comments;
// trimmed, empties dropped). A string with a bare END keyword in code (a BEGIN ... END body not in
// dollar quotes) is kept whole. Example:
//   "CREATE ROLE \"{{name}}\"; GRANT SELECT ON t TO \"{{name}}\";" -> 2 statements
//
// substitute: replaces {{name}}, {{username}} (same value), {{password}} and {{expiration}} with
// the driver's quoting chosen by the context the placeholder stands in:
//   '...'               the value as a literal's content (libpq's escaping: it knows whether the
//                       session has standard_conforming_strings)
//   E'...'              the value as an escape string's content (\ -> \\, ' -> '')
//   "..."               the value as an identifier's content (" doubled)
//   $p$...$p$           the value as is: a dollar-quoted string is literal. If the value contains
//                       the delimiter, the string gets another tag ($cb$, $cb1$, ...) it does not contain
//   code                a complete quoted identifier (name, username) or literal (password, expiration),
//                       after a space unless it follows whitespace, ( , or = (E{{password}} must not
//                       become an E'...' string, nor a literal continue the string before it)
// so no value can end its quotes and inject SQL. The body of a dollar quote that follows DO, AS or
// DO LANGUAGE x (a DO block, a function body) is code, rendered by the same rules inside (its inner
// quotes count), and re-tagged too if the rendered body contains its delimiter. Comments, unknown
// {{...}} and an unterminated dollar quote (which PostgreSQL refuses) are left as written. Example (password "it's $p$"):
//   PASSWORD $p${{password}}$p$   ->   PASSWORD $cb$it's $p$$cb$
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.hpp"

namespace credbroker::plugins::postgres {

struct sql_token {
  enum class kind { code, string, escape_string, identifier, dollar, comment };
  kind k = kind::code;
  std::string_view text;  // the whole token, delimiters included
  std::string_view tag;   // dollar: the delimiter, "$p$" (for an unterminated one the body runs to the end)
  std::string_view body;  // dollar: what is between the delimiters
};
std::vector<sql_token> tokenize(std::string_view sql, bool standard_conforming_strings = true);
// Whether the dollar quote tokens[at] holds code: it follows DO, AS or DO LANGUAGE x.
bool dollar_holds_code(const std::vector<sql_token>& tokens, std::size_t at);

std::vector<std::string> split_statements(const std::vector<std::string>& configured);

struct quoting {
  std::function<std::string(std::string_view)> literal;     // 'it''s' (with quotes)
  std::function<std::string(std::string_view)> identifier;  // "a""b" (with quotes)
  bool standard_conforming_strings = true;                  // the session's setting
};

struct placeholders {
  std::string name;
  std::string password;
  std::string expiration;
};

std::string substitute(std::string_view statement, const placeholders& values, const quoting& q);

// PostgreSQL's SCRAM-SHA-256 verifier for a password ("SCRAM-SHA-256$4096:<salt>$<stored>:<server>"),
// computed here so the plaintext never reaches the server or its logs.
std::string scram_sha256_verifier(std::string_view password, std::string_view salt, int iterations = 4096);

// The SCRAM iteration count of a credential's verifier. PostgreSQL spends one PBKDF2 at the
// verifier's count per CREATE/ALTER ROLE ... PASSWORD (and the client one per login), while key
// stretching only guards a guessable password: a count under 4096 (PostgreSQL's default) is used
// only for a password of at least min_unstretched_bits of entropy; 4096 otherwise. A configured
// count of 4096 or more is always used.
//   (1, 117.5) -> 1    (1, 94.0) -> 4096    (1, 0 = unknown) -> 4096    (10000, 20) -> 10000
constexpr int default_scram_iterations = 4096;
constexpr double min_unstretched_bits = 100;
int scram_iterations_for(int configured, double password_entropy_bits);

// Vault's expiration format "2006-01-02 15:04:05-0700", in UTC.
std::string format_expiration(std::chrono::system_clock::time_point t);

}  // namespace credbroker::plugins::postgres
