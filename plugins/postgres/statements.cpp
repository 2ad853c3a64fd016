#include "plugins/postgres/statements.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "broker/core/encoding.hpp"

namespace credbroker::plugins::postgres {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Whether s has the keyword END as a whole word outside single and double quotes.
bool has_bare_end(std::string_view s) {
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if ((c == 'e' || c == 'E') && i + 3 <= s.size()) {
      const bool before = i == 0 || !(std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_');
      const bool after = i + 3 == s.size() || !(std::isalnum(static_cast<unsigned char>(s[i + 3])) || s[i + 3] == '_');
      std::string w(s.substr(i, 3));
      for (auto& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (before && after && w == "END") return true;
    }
  }
  return false;
}

void split_one(std::string_view s, std::vector<std::string>& out) {
  if (has_bare_end(s)) {
    if (auto t = trim(s); !t.empty()) out.push_back(t);
    return;
  }
  char quote = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    const char c = i < s.size() ? s[i] : ';';
    if (quote) {
      if (c == quote && i < s.size()) quote = 0;
      if (i < s.size()) continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if (c == ';') {
      if (auto t = trim(s.substr(start, i - start)); !t.empty()) out.push_back(t);
      start = i + 1;
    }
  }
}

}  // namespace

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

std::string substitute(std::string_view st, const placeholders& v, const quoting& q) {
  std::string out;
  out.reserve(st.size() + 64);
  enum class ctx { bare, single, dbl, line_comment, block_comment } c = ctx::bare;
  for (std::size_t i = 0; i < st.size();) {
    if (st.compare(i, 2, "{{") == 0 && c != ctx::line_comment && c != ctx::block_comment) {
      const auto close = st.find("}}", i + 2);
      if (close != std::string_view::npos) {
        const std::string_view key = st.substr(i + 2, close - i - 2);
        const std::string* value = nullptr;
        bool ident = false;
        if (key == "name" || key == "username") {
          value = &v.name;
          ident = true;
        } else if (key == "password") {
          value = &v.password;
        } else if (key == "expiration") {
          value = &v.expiration;
        }
        if (value != nullptr) {
          if (c == ctx::single) {
            std::string lit = q.literal(*value);  // 'x' or E'x': keep the content between the quotes
            const auto first = lit.find('\'');
            out += lit.substr(first + 1, lit.size() - first - 2);
          } else if (c == ctx::dbl) {
            const std::string id = q.identifier(*value);
            out += id.substr(1, id.size() - 2);
          } else {
            out += ident ? q.identifier(*value) : q.literal(*value);
          }
          i = close + 2;
          continue;
        }
      }
    }
    const char ch = st[i];
    switch (c) {
      case ctx::bare:
        if (ch == '\'') c = ctx::single;
        else if (ch == '"') c = ctx::dbl;
        else if (ch == '-' && i + 1 < st.size() && st[i + 1] == '-') c = ctx::line_comment;
        else if (ch == '/' && i + 1 < st.size() && st[i + 1] == '*') c = ctx::block_comment;
        break;
      case ctx::single:
        if (ch == '\'') c = ctx::bare;  // '' re-enters at once: same effect as staying inside
        break;
      case ctx::dbl:
        if (ch == '"') c = ctx::bare;
        break;
      case ctx::line_comment:
        if (ch == '\n') c = ctx::bare;
        break;
      case ctx::block_comment:
        if (ch == '*' && i + 1 < st.size() && st[i + 1] == '/') {
          out += "*/";
          i += 2;
          c = ctx::bare;
          continue;
        }
        break;
    }
    out += ch;
    ++i;
  }
  return out;
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
