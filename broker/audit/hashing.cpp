#include "broker/audit/hashing.hpp"

#include <openssl/evp.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "broker/audit/json_text.hpp"
#include "broker/core/encoding.hpp"

namespace credbroker::audit {
namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

int number(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in(int y, int m) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

bool hides(const nlohmann::json& v, bool all_strings, bool under_secret) {
  if (v.is_string()) return under_secret || (all_strings && !is_rfc3339(v.get_ref<const std::string&>()));
  return v.is_number() && under_secret;
}

// A hidden scalar: the HMAC of a string, or of a number's JSON text.
std::string hidden(const nlohmann::json& v, const salt& s) {
  return v.is_string() ? s.hmac(v.get_ref<const std::string&>()) : s.hmac(v.dump());
}

void append_value(std::string& out, const nlohmann::json& v, const salt& s, bool all_strings, bool under_secret,
                  bool elide) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += ',';
      first = false;
      append_quoted(out, it.key());
      out += ':';
      if (elide && ((it.key() == "keys" && it->is_array()) || (it.key() == "key_info" && it->is_object()))) {
        out += std::to_string(it->size());
      } else {
        append_value(out, it.value(), s, all_strings, secret_key(it.key()), false);
      }
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ',';
      first = false;
      append_value(out, e, s, all_strings, under_secret, false);
    }
    out += ']';
  } else if (hides(v, all_strings, under_secret)) {
    append_quoted(out, hidden(v, s));
  } else {
    append_json(out, v);
  }
}

}  // namespace

struct salt::pads {
  EVP_MD_CTX* inner = nullptr;  // SHA-256 state after (K ^ ipad)
  EVP_MD_CTX* outer = nullptr;  // SHA-256 state after (K ^ opad)
  ~pads() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

salt::salt(secret key) {
  constexpr std::size_t block = 64;
  std::array<unsigned char, block> k{};
  const std::string& raw = key.reveal();
  if (raw.size() > block) {
    unsigned int len = 0;
    if (EVP_Digest(raw.data(), raw.size(), k.data(), &len, EVP_sha256(), nullptr) != 1) std::abort();
  } else {
    std::copy(raw.begin(), raw.end(), k.begin());
  }
  auto p = std::make_shared<pads>();
  p->inner = EVP_MD_CTX_new();
  p->outer = EVP_MD_CTX_new();
  std::array<unsigned char, block> pad{};
  for (auto [ctx, fill] : {std::pair{p->inner, 0x36}, std::pair{p->outer, 0x5c}}) {
    for (std::size_t i = 0; i < block; ++i) pad[i] = static_cast<unsigned char>(k[i] ^ fill);
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx, pad.data(), pad.size()) != 1) {
      std::abort();  // cannot happen: SHA-256 is always available
    }
  }
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(k.data(), k.size());
  pads_ = std::move(p);
}

std::string salt::hmac(std::string_view data) const {
  struct working {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~working() { EVP_MD_CTX_free(ctx); }
  };
  thread_local working w;
  unsigned char inner[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0, mac_len = 0;
  if (w.ctx == nullptr || EVP_MD_CTX_copy_ex(w.ctx, pads_->inner) != 1 ||
      EVP_DigestUpdate(w.ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(w.ctx, inner, &inner_len) != 1 ||
      EVP_MD_CTX_copy_ex(w.ctx, pads_->outer) != 1 || EVP_DigestUpdate(w.ctx, inner, inner_len) != 1 ||
      EVP_DigestFinal_ex(w.ctx, mac, &mac_len) != 1) {
    std::abort();  // cannot happen: SHA-256 is always available
  }
  return "hmac-sha256:" + hex_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

bool secret_key(std::string_view key) {
  // "input": what sys/audit-hash is asked to hash is the secret being looked for.
  static constexpr std::array<std::string_view, 21> keys = {
      "password",      "new_password",       "old_password", "token",           "client_token",
      "id",            "secret_id",          "private_key",  "rsa_private_key", "tls_key",
      "client_key",    "connection_url",     "key",          "root_token",      "encoded_token",
      "encoded_root_token", "otp",           "keys_base64",  "wrapped_secret",  "hmac_key",
      "input",
  };
  for (auto k : keys) {
    if (k == key) return true;
  }
  return false;
}

bool is_rfc3339(std::string_view s) {
  // 2006-01-02T15:04:05[.fraction](Z|+07:00|-07:00)
  if (s.size() < 20 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2) ||
      s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) {
    return false;
  }
  const int year = number(s, 0, 4), month = number(s, 5, 2), day = number(s, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > days_in(year, month)) return false;
  if (number(s, 11, 2) > 23 || number(s, 14, 2) > 59 || number(s, 17, 2) > 59) return false;
  std::size_t i = 19;
  if (s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && s[i] == 'Z') return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    return i + 6 == s.size() && digits(s, i + 1, 2) && s[i + 3] == ':' && digits(s, i + 4, 2) &&
           number(s, i + 1, 2) <= 23 && number(s, i + 4, 2) <= 59;
  }
  return false;
}

void append_hashed(std::string& out, const nlohmann::json& data, const salt& s, bool all_strings, bool elide_list) {
  append_value(out, data, s, all_strings, false, elide_list);
}

}  // namespace credbroker::audit
