#include "broker/barrier/seal_manager.hpp"

#include <nlohmann/json.hpp>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/barrier/shamir.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::barrier {

std::optional<std::string> decode_key(const std::string& text) {
  if (auto raw = hex_decode(text); raw && !raw->empty()) return raw;
  return base64_decode(text);
}

seal_manager::seal_manager(storage::physical& backend, barrier& b, std::string storage_type, std::string cluster_name)
    : backend_(backend), barrier_(b), storage_type_(std::move(storage_type)), cluster_name_(std::move(cluster_name)) {}

credbroker::status seal_manager::load() {
  auto stored = backend_.get(config_path);
  if (!stored) return std::move(stored).err();
  std::lock_guard lock(mu_);
  if (!stored->has_value()) {
    auto keys = backend_.list("");
    if (!keys) return std::move(keys).err();
    if (!keys->empty()) {
      std::string shown;
      for (std::size_t i = 0; i < keys->size() && i < 4; ++i) shown += (i == 0 ? "" : ", ") + (*keys)[i];
      return make_error(errc::integrity_failure,
                        "storage is damaged: the seal configuration (core/seal-config) is missing, but the store holds "
                        "data (" + shown + (keys->size() > 4 ? ", ..." : "") +
                            "). Initialising it again would destroy that data: restore the data directory (or "
                            "core/seal-config) from a backup, or move the database file away to start a new store");
    }
    initialized_ = false;
    return ok_v;
  }
  const auto j = nlohmann::json::parse(**stored, nullptr, false);
  if (j.is_discarded() || !j.contains("secret_shares") || !j.contains("secret_threshold")) {
    return make_error(errc::integrity_failure, "stored seal configuration \"core/seal-config\" is malformed");
  }
  auto has_keyring = barrier_.initialized();
  if (!has_keyring) return std::move(has_keyring).err();
  if (!*has_keyring) {
    return make_error(errc::integrity_failure,
                      "storage is damaged: the keyring (core/keyring) is missing, so nothing in the store can be "
                      "decrypted. Restore the data directory from a backup, or move the database file away to start "
                      "a new store");
  }
  try {
    config_.shares = j["secret_shares"].get<int>();
    config_.threshold = j["secret_threshold"].get<int>();
    cluster_id_ = j.value("cluster_id", "");
  } catch (const nlohmann::json::exception&) {
    return make_error(errc::integrity_failure, "stored seal configuration \"core/seal-config\" is malformed");
  }
  if (config_.shares < 1 || config_.threshold < 1 || config_.threshold > config_.shares) {
    return make_error(errc::integrity_failure, "stored seal configuration \"core/seal-config\" is malformed");
  }
  initialized_ = true;
  return ok_v;
}

result<std::vector<secret>> seal_manager::init(int shares, int threshold) {
  std::lock_guard lock(mu_);
  if (initialized_) return make_error(errc::invalid_request, "Vault is already initialized");
  if (shares < 1) return make_error(errc::invalid_request, "invalid seal configuration: secret_shares must be at least 1");
  if (shares > 255) return make_error(errc::invalid_request, "invalid seal configuration: secret_shares must be at most 255");
  if (threshold < 1) return make_error(errc::invalid_request, "invalid seal configuration: secret_threshold must be at least 1");
  if (threshold > shares) {
    return make_error(errc::invalid_request, "invalid seal configuration: secret_threshold cannot be larger than secret_shares");
  }
  if (shares > 1 && threshold == 1) {
    return make_error(errc::invalid_request, "invalid seal configuration: secret_threshold must be greater than 1 when secret_shares is greater than 1");
  }
  const auto raw = random_bytes(key_size);
  const secret root_key(std::string(raw.begin(), raw.end()));
  std::vector<secret> out;
  if (shares == 1) {
    out.emplace_back(root_key.reveal());
  } else {
    auto parts = shamir::split(root_key.reveal(), shares, threshold);
    if (!parts) return std::move(parts).err();
    for (auto& p : *parts) {
      out.emplace_back(p);
      std::fill(p.begin(), p.end(), '\0');
    }
  }
  const std::string cluster_id = random_uuid();
  const nlohmann::json cfg = {{"type", "shamir"}, {"secret_shares", shares}, {"secret_threshold", threshold},
                              {"cluster_id", cluster_id}};
  std::vector<storage::operation> clear;
  clear.push_back(storage::operation::put(config_path, cfg.dump()));
  if (auto s = barrier_.initialize(root_key, std::move(clear), layout_.initial_writes()); !s) return std::move(s).err();
  initialized_ = true;
  config_ = {shares, threshold};
  cluster_id_ = cluster_id;
  progress_.clear();
  nonce_.clear();
  for (auto& f : on_unseal_) f();
  return out;
}

result<seal_snapshot> seal_manager::unseal(const secret& share) {
  std::unique_lock lock(mu_);
  if (!initialized_) return make_error(errc::not_initialized, "Vault is not initialized");
  if (!barrier_.sealed()) {
    lock.unlock();
    return status();
  }
  const std::size_t expected = config_.shares == 1 ? key_size : key_size + 1;
  if (share.size() != expected) {
    return make_error(errc::invalid_request, "invalid unseal key: expected " + std::to_string(expected) +
                                                 " bytes, got " + std::to_string(share.size()));
  }
  for (const auto& p : progress_) {
    if (p == share) return make_error(errc::invalid_request, "this unseal key was already provided in this attempt");
  }
  if (progress_.empty()) nonce_ = random_uuid();
  progress_.push_back(share);
  if (static_cast<int>(progress_.size()) < config_.threshold) {
    lock.unlock();
    return status();
  }
  secret root_key;
  if (config_.shares == 1) {
    root_key = progress_.front();
  } else {
    std::vector<std::string> parts;
    for (const auto& p : progress_) parts.push_back(p.reveal());
    auto combined = shamir::combine(parts);
    for (auto& p : parts) std::fill(p.begin(), p.end(), '\0');
    if (!combined) {
      progress_.clear();
      nonce_.clear();
      return std::move(combined).err();
    }
    root_key = secret(std::move(*combined));
  }
  progress_.clear();
  nonce_.clear();
  if (auto s = barrier_.unseal(root_key); !s) return std::move(s).err();
  if (auto s = layout_.settle(barrier_); !s) {
    barrier_.seal();
    return std::move(s).err();
  }
  for (auto& f : on_unseal_) f();
  lock.unlock();
  return status();
}

void seal_manager::reset() {
  std::lock_guard lock(mu_);
  progress_.clear();
  nonce_.clear();
}

credbroker::status seal_manager::seal() {
  std::lock_guard lock(mu_);
  if (!initialized_) return make_error(errc::not_initialized, "Vault is not initialized");
  for (auto& f : on_seal_) f();
  barrier_.seal();
  progress_.clear();
  nonce_.clear();
  return ok_v;
}

seal_snapshot seal_manager::status() const {
  std::lock_guard lock(mu_);
  seal_snapshot s;
  s.initialized = initialized_;
  s.sealed = barrier_.sealed();
  s.threshold = config_.threshold;
  s.shares = config_.shares;
  s.progress = static_cast<int>(progress_.size());
  s.nonce = nonce_;
  s.storage_type = storage_type_;
  s.cluster_name = cluster_name_;
  s.cluster_id = cluster_id_;
  return s;
}

}  // namespace credbroker::barrier
