#include "broker/auth/token_store.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::auth {

result<secret> token_store::salt() const {
  std::lock_guard lock(mu_);
  if (salt_) return *salt_;
  auto stored = store_.get("auth/token/salt");
  if (!stored) return std::move(stored).err();
  if (stored->has_value()) {
    salt_ = secret(std::move(**stored));
    return *salt_;
  }
  const auto raw = random_bytes(32);
  secret fresh(std::string(raw.begin(), raw.end()));
  if (auto s = store_.put("auth/token/salt", fresh.reveal()); !s) return std::move(s).err();
  salt_ = fresh;
  return fresh;
}

result<std::string> token_store::hash(const secret& token) const {
  auto key = salt();
  if (!key) return std::move(key).err();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key->reveal().data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(token.reveal().data()), token.size(), mac, &len) == nullptr) {
    return make_error(errc::internal, "HMAC failed");
  }
  return hex_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

result<secret> token_store::create_root(std::optional<std::string> id) {
  secret token = id && !id->empty() ? secret(*id) : random_token();
  auto h = hash(token);
  if (!h) return std::move(h).err();
  const std::string accessor = random_alnum(24);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  const nlohmann::json entry = {{"policies", {"root"}}, {"display_name", "root"}, {"accessor", accessor},
                                {"creation_time", now}, {"ttl", 0}, {"path", "auth/token/root"}};
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put("auth/token/id/" + *h, entry.dump()));
  ops.push_back(storage::operation::put("auth/token/accessor/" + accessor, *h));
  if (auto s = store_.apply(std::move(ops)); !s) return std::move(s).err();
  return token;
}

std::optional<identity> token_store::authenticate(const secret& token) const {
  if (token.empty()) return std::nullopt;
  auto h = hash(token);
  if (!h) return std::nullopt;
  auto stored = store_.get("auth/token/id/" + *h);
  if (!stored || !stored->has_value()) return std::nullopt;
  const auto j = nlohmann::json::parse(**stored, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  identity id;
  id.policies = j.value("policies", std::vector<std::string>{});
  id.display_name = j.value("display_name", "token");
  id.accessor = j.value("accessor", "");
  return id;
}

void token_store::clear_cache() {
  std::lock_guard lock(mu_);
  salt_.reset();
}

}  // namespace credbroker::auth
