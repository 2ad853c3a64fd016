#include "broker/audit/hashing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>

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

void walk(nlohmann::json& v, const salt& s, bool all_strings, bool under_secret) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) walk(it.value(), s, all_strings, secret_key(it.key()));
  } else if (v.is_array()) {
    for (auto& e : v) walk(e, s, all_strings, under_secret);
  } else if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    if (under_secret || (all_strings && !is_rfc3339(text))) v = s.hmac(text);
  } else if (v.is_number() && under_secret) {
    v = s.hmac(v.dump());
  }
}

}  // namespace

std::string salt::hmac(std::string_view data) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key_.reveal().data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    std::abort();  // cannot happen: SHA-256 is always available
  }
  return "hmac-sha256:" + hex_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

bool secret_key(std::string_view key) {
  static constexpr std::array<std::string_view, 20> keys = {
      "password",      "new_password",       "old_password", "token",           "client_token",
      "id",            "secret_id",          "private_key",  "rsa_private_key", "tls_key",
      "client_key",    "connection_url",     "key",          "root_token",      "encoded_token",
      "encoded_root_token", "otp",           "keys_base64",  "wrapped_secret",  "hmac_key",
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

void hash_data(nlohmann::json& value, const salt& s, bool all_strings) { walk(value, s, all_strings, false); }

void elide_list_data(nlohmann::json& data) {
  if (!data.is_object()) return;
  if (auto it = data.find("keys"); it != data.end() && it->is_array()) *it = it->size();
  if (auto it = data.find("key_info"); it != data.end() && it->is_object()) *it = it->size();
}

}  // namespace credbroker::audit
