#include "broker/barrier/barrier.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::barrier {
namespace {

std::string now_rfc3339() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

error sealed_error() { return make_error(errc::sealed, "Vault is sealed"); }

// Whether `key` decrypts the stored keyring (the plaintext is wiped at once).
bool opens_keyring(const secret& key, const std::string& stored) {
  auto plain = decrypt(key, stored, barrier::keyring_path);
  if (!plain) return false;
  std::fill(plain->begin(), plain->end(), '\0');
  return true;
}

}  // namespace

result<bool> barrier::initialized() const {
  auto v = backend_.get(keyring_path);
  if (!v) return std::move(v).err();
  return v->has_value();
}

result<std::string> barrier::encode_keyring(const keyring& k) const {
  nlohmann::json j = {{"active_term", k.active}, {"keys", nlohmann::json::array()}};
  for (const auto& [term, entry] : k.keys) {
    j["keys"].push_back({{"term", term}, {"key", base64_encode(entry.first.reveal())}, {"install_time", entry.second}});
  }
  std::string text = j.dump();
  return text;
}

result<storage::operation> barrier::keyring_write(const keyring& k, const secret& root_key) const {
  auto plain = encode_keyring(k);
  if (!plain) return std::move(plain).err();
  auto sealed_value = encrypt(root_key, 0, *plain, keyring_path);
  std::fill(plain->begin(), plain->end(), '\0');
  if (!sealed_value) return std::move(sealed_value).err();
  return storage::operation::put(keyring_path, std::move(*sealed_value));
}

status barrier::initialize(const secret& root_key, std::vector<storage::operation> physical_ops,
                           std::vector<storage::operation> sealed_ops) {
  if (root_key.size() != key_size) return make_error(errc::invalid_request, "root key must be 32 bytes");
  auto init = initialized();
  if (!init) return std::move(init).err();
  if (*init) return make_error(errc::invalid_request, "Vault is already initialized");
  keyring k;
  k.active = 1;
  const auto raw = random_bytes(key_size);
  k.keys.emplace(1, std::make_pair(secret(std::string(raw.begin(), raw.end())), now_rfc3339()));
  auto write = keyring_write(k, root_key);
  if (!write) return std::move(write).err();
  if (auto s = encrypt_with(k, sealed_ops); !s) return s;
  std::vector<storage::operation> ops;
  ops.push_back(std::move(*write));
  for (auto& op : physical_ops) ops.push_back(std::move(op));
  for (auto& op : sealed_ops) ops.push_back(std::move(op));
  if (auto s = backend_.apply(std::move(ops)); !s) return s;
  std::unique_lock lock(mu_);
  keyring_ = std::move(k);
  root_key_ = root_key;
  unsealed_ = true;
  return ok_v;
}

status barrier::unseal(const secret& root_key) {
  auto stored = backend_.get(keyring_path);
  if (!stored) return std::move(stored).err();
  if (!stored->has_value()) return make_error(errc::not_initialized, "Vault is not initialized");
  if (root_key.size() != key_size) return make_error(errc::permission_denied, "invalid key: the unseal keys do not reconstruct the root key");
  auto plain = decrypt(root_key, **stored, keyring_path);
  if (!plain) return make_error(errc::permission_denied, "invalid key: the unseal keys do not reconstruct the root key");
  const auto j = nlohmann::json::parse(*plain, nullptr, false);
  std::fill(plain->begin(), plain->end(), '\0');
  if (j.is_discarded() || !j.contains("active_term") || !j.contains("keys")) {
    return make_error(errc::integrity_failure, "stored keyring is malformed");
  }
  keyring k;
  k.active = j["active_term"].get<std::uint32_t>();
  for (const auto& e : j["keys"]) {
    auto raw = base64_decode(e["key"].get<std::string>());
    if (!raw || raw->size() != key_size) return make_error(errc::integrity_failure, "stored keyring holds a malformed key");
    k.keys.emplace(e["term"].get<std::uint32_t>(), std::make_pair(secret(std::move(*raw)), e["install_time"].get<std::string>()));
  }
  if (!k.keys.contains(k.active)) return make_error(errc::integrity_failure, "stored keyring lacks its active key");
  std::unique_lock lock(mu_);
  keyring_ = std::move(k);
  root_key_ = root_key;
  unsealed_ = true;
  return ok_v;
}

status barrier::reload_keyring() {
  secret key;
  {
    std::shared_lock lock(mu_);
    if (!unsealed_) return make_error(errc::sealed, "Vault is sealed");
    key = root_key_;
  }
  return unseal(key);
}

void barrier::seal() {
  std::unique_lock lock(mu_);
  unsealed_ = false;
  keyring_ = keyring{};
  root_key_ = secret();
}

bool barrier::sealed() const {
  std::shared_lock lock(mu_);
  return !unsealed_;
}

result<key_info> barrier::rotate() {
  std::unique_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  keyring next;
  next.active = keyring_.active + 1;
  for (const auto& [term, entry] : keyring_.keys) next.keys.emplace(term, entry);
  const auto raw = random_bytes(key_size);
  const std::string installed = now_rfc3339();
  next.keys.emplace(next.active, std::make_pair(secret(std::string(raw.begin(), raw.end())), installed));
  auto write = keyring_write(next, root_key_);
  if (!write) return std::move(write).err();
  std::vector<storage::operation> ops;
  ops.push_back(std::move(*write));
  if (auto s = backend_.apply(std::move(ops)); !s) return std::move(s).err();
  keyring_ = std::move(next);
  return key_info{keyring_.active, installed};
}

result<key_info> barrier::key_status() const {
  std::shared_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  return key_info{keyring_.active, keyring_.keys.at(keyring_.active).second};
}

result<bool> barrier::is_root_key(const secret& candidate) const {
  std::shared_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  return root_key_.size() == candidate.size() && root_key_ == candidate;
}

status barrier::rekey(const secret& new_root_key, std::vector<storage::operation> physical_ops) {
  if (new_root_key.size() != key_size) return make_error(errc::invalid_request, "root key must be 32 bytes");
  std::unique_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  auto write = keyring_write(keyring_, new_root_key);
  if (!write) return std::move(write).err();
  std::vector<storage::operation> ops;
  ops.push_back(std::move(*write));
  for (auto& op : physical_ops) {
    if (op.key == keyring_path) return make_error(errc::invalid_request, "\"core/keyring\" is reserved");
    ops.push_back(std::move(op));
  }
  auto written = backend_.apply(std::move(ops));
  if (!written) {
    // The backend may not know whether the batch committed (a connection lost after sending it):
    // the keyring says which root key the store now needs.
    auto stored = backend_.get(keyring_path);
    const bool readable = stored && stored->has_value();
    if (readable && opens_keyring(new_root_key, **stored)) {
      spdlog::warn("the rekey write reported a failure but was stored: {}", written.err().message);
    } else if (readable && opens_keyring(root_key_, **stored)) {
      return written;
    } else {
      unsealed_ = false;
      keyring_ = keyring{};
      root_key_ = secret();
      return make_error(errc::storage_failure,
                        "the new keyring may or may not have been stored (" + written.err().message +
                            "), and reading it back did not settle which");
    }
  }
  root_key_ = new_root_key;
  return ok_v;
}

result<std::optional<std::string>> barrier::get(const std::string& key) {
  auto stored = backend_.get(key);
  if (!stored) return std::move(stored).err();
  if (!stored->has_value()) return std::optional<std::string>{};
  std::shared_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  auto term = term_of(**stored);
  if (!term) return make_error(errc::integrity_failure, "stored value for \"" + key + "\" is unreadable: " + term.err().message);
  auto it = keyring_.keys.find(*term);
  if (it == keyring_.keys.end()) {
    return make_error(errc::integrity_failure, "stored value for \"" + key + "\" uses key term " + std::to_string(*term) +
                                                   ", which the keyring does not hold");
  }
  auto plain = decrypt(it->second.first, **stored, key);
  if (!plain) return make_error(errc::integrity_failure, "stored value for \"" + key + "\" " + plain.err().message);
  return std::optional<std::string>{std::move(*plain)};
}

result<std::vector<std::string>> barrier::list(const std::string& prefix) {
  {
    std::shared_lock lock(mu_);
    if (!unsealed_) return sealed_error();
  }
  return backend_.list(prefix);
}

status barrier::scan(const std::string& prefix,
                      const std::function<bool(const std::string&, std::string_view)>& visit) {
  std::shared_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  status failure = ok_v;
  std::size_t damaged = 0;
  auto s = backend_.scan(prefix, [&](const std::string& key, std::string_view stored) {
    if (key == keyring_path) return true;
    auto term = term_of(stored);
    auto it = term ? keyring_.keys.find(*term) : keyring_.keys.end();
    auto plain = it == keyring_.keys.end() ? result<std::string>(make_error(errc::integrity_failure, "is unreadable"))
                                           : decrypt(it->second.first, stored, key);
    if (!plain) {
      // Skip it and go on; the first damaged key is named in the result.
      if (damaged++ == 0) {
        failure = make_error(errc::integrity_failure, "stored value for \"" + key + "\" " + plain.err().message);
      }
      return true;
    }
    return visit(key, *plain);
  });
  if (!s) return s;
  if (damaged > 1) failure = make_error(errc::integrity_failure, failure.err().message + " (and " + std::to_string(damaged - 1) + " more)");
  return failure;
}

status barrier::encrypt_ops(std::vector<storage::operation>& ops) const {
  std::shared_lock lock(mu_);
  if (!unsealed_) return sealed_error();
  return encrypt_with(keyring_, ops);
}

status barrier::encrypt_with(const keyring& k, std::vector<storage::operation>& ops) {
  const auto& [key, _] = k.keys.at(k.active);
  for (auto& op : ops) {
    if (op.key == keyring_path) return make_error(errc::invalid_request, "\"core/keyring\" is reserved");
    if (op.k != storage::operation::kind::put) continue;
    auto enc = encrypt(key, k.active, op.value, op.key);
    std::fill(op.value.begin(), op.value.end(), '\0');
    if (!enc) return std::move(enc).err();
    op.value = std::move(*enc);
  }
  return ok_v;
}

status barrier::apply(std::vector<storage::operation> ops) {
  if (auto s = encrypt_ops(ops); !s) return s;
  return backend_.apply(std::move(ops));
}

void barrier::apply_lazy(std::vector<storage::operation> ops) {
  if (auto s = encrypt_ops(ops); !s) {
    spdlog::error("lazy storage write of \"{}\" failed: {}", ops.empty() ? "" : ops.front().key, s.err().message);
    return;
  }
  backend_.apply_lazy(std::move(ops));
}

}  // namespace credbroker::barrier
