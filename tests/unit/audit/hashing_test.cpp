// hashing: the HMAC of a device's salt (a known answer computed with Python's hmac module), Go's
// RFC 3339 test, and which values append_hashed hides — with all_strings (Vault's rule) and without
// (log_raw), where only values under secret keys are hidden.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "broker/audit/hashing.hpp"
#include "broker/core/encoding.hpp"

using namespace credbroker;
using credbroker::audit::salt;
using nlohmann::json;

namespace {

const salt test_salt(secret("2f0c4e0e-5c39-4b8d-9a7b-6c3a1b2d9e10"));

std::string h(const std::string& v) { return test_salt.hmac(v); }

std::string hashed(const json& data, bool all_strings, bool elide_list) {
  std::string out;
  audit::append_hashed(out, data, test_salt, all_strings, elide_list);
  return out;
}

TEST(audit_hashing, hmac_is_vaults_identified_hmac_sha256_keyed_by_the_salt) {
  // python3 -c "import hmac,hashlib; print(hmac.new(b'2f0c...9e10', b'hvs.secret-token', hashlib.sha256).hexdigest())"
  EXPECT_EQ(h("hvs.secret-token"), "hmac-sha256:e5c3fdd58a9c65131f6fe128f526f1e8a9143a2b96a04f27a67d51b2dc429566");
  EXPECT_EQ(salt(secret("")).hmac(""), "hmac-sha256:b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_NE(salt(secret("another salt")).hmac("hvs.secret-token"), h("hvs.secret-token"));
}

TEST(audit_hashing, hmac_matches_openssls_for_every_key_length) {
  for (std::size_t key_len : {0u, 1u, 36u, 63u, 64u, 65u, 200u}) {
    for (std::size_t data_len : {0u, 1u, 55u, 64u, 1000u}) {
      SCOPED_TRACE(std::to_string(key_len) + " byte key, " + std::to_string(data_len) + " bytes");
      std::string key(key_len, '\0'), data(data_len, '\0');
      for (std::size_t i = 0; i < key_len; ++i) key[i] = static_cast<char>(i * 7 + 3);
      for (std::size_t i = 0; i < data_len; ++i) data[i] = static_cast<char>(i * 13 + 1);
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), mac, &len),
                nullptr);
      EXPECT_EQ(salt(secret(key)).hmac(data),
                "hmac-sha256:" + hex_encode(std::string_view(reinterpret_cast<const char*>(mac), len)));
    }
  }
}

TEST(audit_hashing, rfc3339_is_gos_strict_form) {
  struct row {
    const char* text;
    bool timestamp;
  };
  for (const auto& r : std::vector<row>{{"2026-01-02T03:04:05Z", true},
                                        {"2026-01-02T03:04:05.123456789Z", true},
                                        {"2026-01-02T03:04:05+02:00", true},
                                        {"2024-02-29T23:59:59-07:30", true},
                                        {"2023-02-29T00:00:00Z", false},
                                        {"2026-13-01T00:00:00Z", false},
                                        {"2026-01-02 03:04:05Z", false},
                                        {"2026-01-02T03:04:05", false},
                                        {"2026-01-02T03:04:05.Z", false},
                                        {"2026-01-02T24:00:00Z", false},
                                        {"2026-01-02T03:04:05Zjunk", false},
                                        {"p4ssw0rd-2026-01-02T03:04:05Z", false},
                                        {"", false}}) {
    SCOPED_TRACE(r.text);
    EXPECT_EQ(audit::is_rfc3339(r.text), r.timestamp);
  }
}

TEST(audit_hashing, which_values_are_hidden) {
  struct row {
    const char* name;
    json in;
    bool all_strings;
    json out;
  };
  const std::vector<row> rows = {
      {"strings are hashed, keys, numbers, booleans and null are not",
       {{"username", "v-app"}, {"ttl", 3600}, {"renewable", true}, {"x", nullptr}},
       true,
       {{"username", h("v-app")}, {"ttl", 3600}, {"renewable", true}, {"x", nullptr}}},
      {"a timestamp stays readable", {{"expiration", "2026-01-02T03:04:05Z"}}, true, {{"expiration", "2026-01-02T03:04:05Z"}}},
      {"nested objects and arrays", {{"a", {{"b", json::array({"c", 1})}}}}, true, {{"a", {{"b", json::array({h("c"), 1})}}}}},
      {"log_raw: only secret keys", {{"username", "v-app"}, {"password", "p"}}, false,
       {{"username", "v-app"}, {"password", h("p")}}},
      {"log_raw: a secret key hides even a timestamp", {{"password", "2026-01-02T03:04:05Z"}}, false,
       {{"password", h("2026-01-02T03:04:05Z")}}},
      {"a password sent as a number", {{"password", 12345}}, true, {{"password", h("12345")}}},
      {"array elements inherit their key", {{"token", json::array({"t1", "t2"})}}, false,
       {{"token", json::array({h("t1"), h("t2")})}}},
      {"the innermost key decides",
       {{"password", {{"note", "n"}}}, {"details", {{"secret_id", "s"}, {"role", "r"}}}},
       false,
       {{"password", {{"note", "n"}}}, {"details", {{"secret_id", h("s")}, {"role", "r"}}}}},
      {"connection config private fields under log_raw",
       {{"connection_url", "postgresql://root:pw@db:5432/x"}, {"private_key", "-----BEGIN"}, {"username", "root"},
        {"plugin_name", "postgresql-database-plugin"}},
       false,
       {{"connection_url", h("postgresql://root:pw@db:5432/x")}, {"private_key", h("-----BEGIN")}, {"username", "root"},
        {"plugin_name", "postgresql-database-plugin"}}},
      {"token lookup data id is the token", {{"id", "hvs.x"}, {"accessor", "a"}}, false, {{"id", h("hvs.x")}, {"accessor", "a"}}},
      {"a bare string", json("v"), true, json(h("v"))},
      {"log_raw: the input of sys/audit-hash is the secret looked for", {{"input", "hvs.x"}}, false, {{"input", h("hvs.x")}}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(hashed(r.in, r.all_strings, false), r.out.dump());
  }
}

TEST(audit_hashing, elide_list_counts_top_level_keys_and_key_info) {
  const json d = {{"keys", {"a", "b", "c"}}, {"key_info", {{"a", {{"x", 1}}}, {"b", {{"x", 2}}}}}, {"other", {"k"}}};
  EXPECT_EQ(hashed(d, false, true), (json{{"keys", 3}, {"key_info", 2}, {"other", {"k"}}}).dump());
  EXPECT_EQ(hashed(d, true, true), (json{{"keys", 3}, {"key_info", 2}, {"other", {h("k")}}}).dump());
  EXPECT_EQ(hashed({{"keys", "x"}}, false, true), R"({"keys":"x"})");
  EXPECT_EQ(hashed({{"nested", {{"keys", {"a"}}}}}, false, true), R"({"nested":{"keys":["a"]}})");
  EXPECT_EQ(hashed(d, false, false), d.dump());
}

}  // namespace
