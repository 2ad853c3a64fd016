#include "plugins/postgres/statements.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "broker/core/encoding.hpp"

namespace credbroker::plugins::postgres {
namespace {

using kind = sql_token::kind;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// PostgreSQL's scanner: identifiers may contain '$' after their first character; dollar tags are
// [A-Za-z\200-\377_][A-Za-z\200-\377_0-9]*.
bool ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }
bool tag_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool tag_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }
bool word_char(unsigned char c) { return std::isalnum(c) || c == '_'; }

// The dollar-quote delimiter that starts at s[i] ("$$", "$tag$"), or empty.
std::string_view dollar_delimiter(std::string_view s, std::size_t i) {
  if (s[i] != '$' || (i > 0 && ident_char(static_cast<unsigned char>(s[i - 1])))) return {};
  std::size_t j = i + 1;
  if (j < s.size() && s[j] != '$') {
    if (!tag_start(static_cast<unsigned char>(s[j]))) return {};
    while (j < s.size() && tag_char(static_cast<unsigned char>(s[j]))) ++j;
  }
  if (j >= s.size() || s[j] != '$') return {};
  return s.substr(i, j - i + 1);
}

// The end (one past) of the quoted token opened at s[i] by `quote`; backslash: \ escapes a character.
std::size_t end_of_quoted(std::string_view s, std::size_t i, char quote, bool backslash) {
  for (std::size_t j = i + 1; j < s.size(); ++j) {
    if (backslash && s[j] == '\\') {
      ++j;
      continue;
    }
    if (s[j] == quote) {
      if (j + 1 < s.size() && s[j + 1] == quote) {
        ++j;  // doubled: still inside
        continue;
      }
      return j + 1;
    }
  }
  return s.size();
}

std::size_t end_of_block_comment(std::string_view s, std::size_t i) {
  int depth = 0;
  for (std::size_t j = i; j + 1 < s.size(); ++j) {
    if (s[j] == '/' && s[j + 1] == '*') {
      ++depth;
      ++j;
    } else if (s[j] == '*' && s[j + 1] == '/') {
      ++j;
      if (--depth == 0) return j + 1;
    }
  }
  return s.size();
}

// Whether a code token has the keyword END as a whole word.
bool has_end_word(std::string_view s) {
  for (std::size_t i = 0; i + 3 <= s.size(); ++i) {
    if ((i > 0 && word_char(static_cast<unsigned char>(s[i - 1]))) ||
        (i + 3 < s.size() && word_char(static_cast<unsigned char>(s[i + 3])))) {
      continue;
    }
    if (std::toupper(static_cast<unsigned char>(s[i])) == 'E' && std::toupper(static_cast<unsigned char>(s[i + 1])) == 'N' &&
        std::toupper(static_cast<unsigned char>(s[i + 2])) == 'D') {
      return true;
    }
  }
  return false;
}

void split_one(std::string_view s, std::vector<std::string>& out) {
  const auto tokens = tokenize(s);
  if (std::any_of(tokens.begin(), tokens.end(), [](const sql_token& t) { return t.k == kind::code && has_end_word(t.text); })) {
    if (auto t = trim(s); !t.empty()) out.push_back(t);
    return;
  }
  std::string current;
  auto cut = [&] {
    if (auto t = trim(current); !t.empty()) out.push_back(std::move(t));
    current.clear();
  };
  for (const auto& t : tokens) {
    if (t.k != kind::code) {
      current += t.text;
      continue;
    }
    for (char c : t.text) {
      if (c == ';') cut();
      else current += c;
    }
  }
  cut();
}

// The last `n` words of code before tokens[at] (comments skipped), upper case, nearest last.
std::vector<std::string> words_before(const std::vector<sql_token>& tokens, std::size_t at, std::size_t n) {
  std::vector<std::string> words;  // nearest first while collecting
  for (std::size_t t = at; t-- > 0 && words.size() < n;) {
    if (tokens[t].k == kind::comment) continue;
    if (tokens[t].k != kind::code) break;
    const std::string_view s = tokens[t].text;
    std::size_t i = s.size();
    while (i > 0 && words.size() < n) {
      while (i > 0 && std::isspace(static_cast<unsigned char>(s[i - 1]))) --i;
      if (i == 0) break;
      if (!word_char(static_cast<unsigned char>(s[i - 1]))) return {words.rbegin(), words.rend()};
      std::size_t b = i;
      while (b > 0 && word_char(static_cast<unsigned char>(s[b - 1]))) --b;
      std::string w(s.substr(b, i - b));
      for (auto& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      words.push_back(std::move(w));
      i = b;
    }
  }
  return {words.rbegin(), words.rend()};
}

// A dollar quote after DO, AS or DO LANGUAGE x holds code (a DO block, a function body).
bool holds_code(const std::vector<sql_token>& tokens, std::size_t at) {
  const auto w = words_before(tokens, at, 3);
  const std::size_t n = w.size();
  if (n >= 1 && (w[n - 1] == "DO" || w[n - 1] == "AS")) return true;
  return n == 3 && w[0] == "DO" && w[1] == "LANGUAGE";
}

class renderer {
 public:
  renderer(const placeholders& v, const quoting& q) : v_(v), q_(q) {}

  std::string render(std::string_view sql) const {
    const auto tokens = tokenize(sql, q_.standard_conforming_strings);
    std::string out;
    out.reserve(sql.size() + 64);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const sql_token& t = tokens[i];
      switch (t.k) {
        case kind::code:
          replace(out, t.text, [&](const std::string& v, bool ident) {
            return separated(out, ident ? q_.identifier(v) : q_.literal(v));
          });
          break;
        case kind::string:
          replace(
              out, t.text, [&](const std::string& v, bool) { return inside(q_.literal(v), '\''); },
              !q_.standard_conforming_strings);
          break;
        case kind::escape_string: replace(out, t.text, escape_string_content, true); break;
        case kind::identifier:
          replace(out, t.text, [&](const std::string& v, bool) { return inside(q_.identifier(v), '"'); });
          break;
        case kind::comment: out += t.text; break;
        case kind::dollar: dollar(out, tokens, i); break;
      }
    }
    return out;
  }

 private:
  // A complete quoted token for code, after a space unless it follows whitespace or ( , =: glued to
  // what comes before, it could become a prefixed string (E'...', U&'...') or continue a string
  // that just closed ('a''v' is one literal; after E'a' it would be read with backslash escapes
  // the value's quoting did not mean).
  static std::string separated(const std::string& out, std::string quoted) {
    if (!out.empty() && !std::isspace(static_cast<unsigned char>(out.back())) && out.back() != '(' && out.back() != ',' &&
        out.back() != '=') {
      quoted.insert(0, 1, ' ');
    }
    return quoted;
  }
  // The content between the first and the last quote of a quoted token ('x', E'x', "x").
  static std::string inside(const std::string& quoted, char quote) {
    const auto first = quoted.find(quote);
    const auto last = quoted.rfind(quote);
    if (first == std::string::npos || last <= first) return quoted;
    return quoted.substr(first + 1, last - first - 1);
  }
  static std::string escape_string_content(const std::string& v, bool) {
    std::string out;
    out.reserve(v.size() + 8);
    for (char c : v) {
      if (c == '\\' || c == '\'') out += c;  // E'...': \\ and '' stand for \ and '
      out += c;
    }
    return out;
  }

  // Copies text with each known placeholder replaced by quote(value, is_identifier).
  template <class Quote>
  // backslash: the text is a string whose backslashes escape (E'...', '...' with
  // standard_conforming_strings off); an escaped character never starts a placeholder (the value
  // would lose its first character to the template's backslash).
  void replace(std::string& out, std::string_view text, Quote quote, bool backslash = false) const {
    for (std::size_t i = 0; i < text.size();) {
      if (backslash && text[i] == '\\') {
        out += text.substr(i, 2);
        i += 2;
        continue;
      }
      if (text.compare(i, 2, "{{") == 0) {
        const auto close = text.find("}}", i + 2);
        if (close != std::string_view::npos) {
          const std::string_view key = text.substr(i + 2, close - i - 2);
          const std::string* value = nullptr;
          bool ident = false;
          if (key == "name" || key == "username") {
            value = &v_.name;
            ident = true;
          } else if (key == "password") {
            value = &v_.password;
          } else if (key == "expiration") {
            value = &v_.expiration;
          }
          if (value != nullptr) {
            out += quote(*value, ident);
            i = close + 2;
            continue;
          }
        }
      }
      out += text[i++];
    }
  }

  void dollar(std::string& out, const std::vector<sql_token>& tokens, std::size_t at) const {
    const sql_token& t = tokens[at];
    const bool closed = t.text.size() == t.body.size() + 2 * t.tag.size();  // else it runs to the end
    if (!closed) {
      // Copied as written (PostgreSQL refuses it): a value put in could hold the delimiter and
      // close it, turning the rest of the statement into code.
      out += t.text;
      return;
    }
    std::string body;
    if (holds_code(tokens, at)) {
      body = render(t.body);  // code: the same rules inside
    } else {
      replace(body, t.body, [](const std::string& v, bool) { return v; });  // literal: as is
    }
    const std::string delim = delimiter_for(body, std::string(t.tag));
    out += delim;
    out += body;
    out += delim;
  }

  // `preferred` if the body ends at its first occurrence in body + delimiter, else $cb$, $cb1$, ...
  static std::string delimiter_for(const std::string& body, std::string preferred) {
    auto fits = [&](const std::string& d) { return (body + d).find(d) == body.size(); };
    if (fits(preferred)) return preferred;
    for (int n = 0;; ++n) {
      std::string d = n == 0 ? "$cb$" : "$cb" + std::to_string(n) + "$";
      if (fits(d)) return d;
    }
  }

  const placeholders& v_;
  const quoting& q_;
};

}  // namespace

std::vector<sql_token> tokenize(std::string_view s, bool standard_conforming_strings) {
  std::vector<sql_token> out;
  std::size_t code_from = 0;
  auto token = [&](std::size_t from, std::size_t to, kind k) {
    if (from > code_from) out.push_back({kind::code, s.substr(code_from, from - code_from), {}, {}});
    out.push_back({k, s.substr(from, to - from), {}, {}});
    code_from = to;
    return to;
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\'') {
      const bool escape = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                          (i < 2 || !ident_char(static_cast<unsigned char>(s[i - 2])));
      i = token(i, end_of_quoted(s, i, '\'', escape || !standard_conforming_strings),
                escape ? kind::escape_string : kind::string);
    } else if (c == '"') {
      i = token(i, end_of_quoted(s, i, '"', false), kind::identifier);
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      const auto nl = s.find('\n', i);
      i = token(i, nl == std::string_view::npos ? s.size() : nl, kind::comment);
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      i = token(i, end_of_block_comment(s, i), kind::comment);
    } else if (const auto delim = dollar_delimiter(s, i); !delim.empty()) {
      const auto close = s.find(delim, i + delim.size());
      const std::size_t body_from = i + delim.size();
      const std::size_t end = close == std::string_view::npos ? s.size() : close + delim.size();
      i = token(i, end, kind::dollar);
      out.back().tag = delim;
      out.back().body = s.substr(body_from, (close == std::string_view::npos ? s.size() : close) - body_from);
    } else {
      ++i;
    }
  }
  if (code_from < s.size()) out.push_back({kind::code, s.substr(code_from), {}, {}});
  return out;
}

std::vector<std::string> split_statements(const std::vector<std::string>& configured) {
  std::vector<std::string> out;
  for (const auto& raw : configured) {
    std::string s = trim(raw);
    if (s.empty()) continue;
    if (auto decoded = base64_decode(s); decoded && !decoded->empty() && s.find(' ') == std::string::npos) {
      s = *decoded;
    }
    if (!s.empty() && s.front() == '[') {
      const auto j = nlohmann::json::parse(s, nullptr, false);
      if (j.is_array()) {
        for (const auto& e : j) {
          if (e.is_string()) split_one(e.get<std::string>(), out);
        }
        continue;
      }
    }
    split_one(s, out);
  }
  return out;
}

std::string substitute(std::string_view st, const placeholders& v, const quoting& q) { return renderer(v, q).render(st); }

bool dollar_holds_code(const std::vector<sql_token>& tokens, std::size_t at) { return holds_code(tokens, at); }

int scram_iterations_for(int configured, double password_entropy_bits) {
  if (configured >= default_scram_iterations || password_entropy_bits >= min_unstretched_bits) return configured;
  return default_scram_iterations;
}

std::string scram_sha256_verifier(std::string_view password, std::string_view salt, int iterations) {
  unsigned char salted[SHA256_DIGEST_LENGTH];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof salted, salted);
  auto hmac = [&](std::string_view msg) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), salted, sizeof salted, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
    return std::string(reinterpret_cast<const char*>(out), len);
  };
  const std::string client_key = hmac("Client Key");
  unsigned char stored[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(client_key.data()), client_key.size(), stored);
  const std::string server_key = hmac("Server Key");
  OPENSSL_cleanse(salted, sizeof salted);
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" + base64_encode(salt) + "$" +
         base64_encode(std::string_view(reinterpret_cast<const char*>(stored), sizeof stored)) + ":" +
         base64_encode(server_key);
}

std::string format_expiration(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+0000", &tm);
  return std::string(buf, n);
}

}  // namespace credbroker::plugins::postgres
