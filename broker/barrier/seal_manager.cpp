#include "broker/barrier/seal_manager.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/barrier/shamir.hpp"
#include "broker/core/crash_point.hpp"
#include "broker/core/encoding.hpp"
#include "broker/core/random.hpp"

namespace credbroker::barrier {

std::optional<std::string> decode_key(const std::string& text) {
  if (auto raw = hex_decode(text); raw && !raw->empty()) return raw;
  return base64_decode(text);
}

result<secret> combine_shares(const std::vector<secret>& shares, const seal_config& c) {
  if (c.shares == 1) return shares.front();
  std::vector<std::string> parts;
  for (const auto& p : shares) parts.push_back(p.reveal());
  auto combined = shamir::combine(parts);
  for (auto& p : parts) std::fill(p.begin(), p.end(), '\0');
  if (!combined) return std::move(combined).err();
  return secret(std::move(*combined));
}

status validate(const seal_config& c) {
  if (c.shares < 1) return make_error(errc::invalid_request, "shares must be at least one");
  if (c.threshold < 1) return make_error(errc::invalid_request, "threshold must be at least one");
  if (c.shares > 1 && c.threshold < 2) {
    return make_error(errc::invalid_request, "threshold must be greater than one for multiple shares");
  }
  if (c.shares > 255) return make_error(errc::invalid_request, "shares must be less than 256");
  if (c.threshold > 255) return make_error(errc::invalid_request, "threshold must be less than 256");
  if (c.threshold > c.shares) return make_error(errc::invalid_request, "threshold cannot be larger than shares");
  return ok_v;
}

result<std::vector<secret>> split_root_key(const secret& root_key, const seal_config& c) {
  std::vector<secret> out;
  if (c.shares == 1) {
    out.push_back(root_key);
    return out;
  }
  auto parts = shamir::split(root_key.reveal(), c.shares, c.threshold);
  if (!parts) return std::move(parts).err();
  for (auto& p : *parts) {
    out.emplace_back(p);
    std::fill(p.begin(), p.end(), '\0');
  }
  return out;
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
  auto out = split_root_key(root_key, {shares, threshold});
  if (!out) return std::move(out).err();
  const std::string previous_cluster_id = cluster_id_;
  cluster_id_ = random_uuid();
  std::vector<storage::operation> clear;
  clear.push_back(storage::operation::put(config_path, config_json({shares, threshold})));
  if (auto s = barrier_.initialize(root_key, std::move(clear), layout_.initial_writes()); !s) {
    cluster_id_ = previous_cluster_id;
    return std::move(s).err();
  }
  initialized_ = true;
  config_ = {shares, threshold};
  progress_.clear();
  nonce_.clear();
  ++epoch_;
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
  auto root_key = combine_shares(progress_, config_);
  progress_.clear();
  nonce_.clear();
  if (!root_key) return std::move(root_key).err();
  if (auto s = barrier_.unseal(*root_key); !s) return std::move(s).err();
  ++epoch_;
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
  ++epoch_;
  return ok_v;
}

seal_config seal_manager::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

std::uint64_t seal_manager::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

std::string seal_manager::config_json(const seal_config& c) const {
  return nlohmann::json({{"type", "shamir"}, {"secret_shares", c.shares}, {"secret_threshold", c.threshold},
                         {"cluster_id", cluster_id_}})
      .dump();
}

void seal_manager::set_key_file(std::optional<unseal_key_file> f) {
  std::lock_guard lock(mu_);
  key_file_ = std::move(f);
}

status seal_manager::check_shares(const std::vector<secret>& shares) const {
  std::lock_guard lock(mu_);
  if (!initialized_) return make_error(errc::not_initialized, "Vault is not initialized");
  if (barrier_.sealed()) return make_error(errc::sealed, "Vault is sealed");
  if (shares.empty()) return make_error(errc::invalid_request, "failed to compute root key: no key shares given");
  auto key = combine_shares(shares, config_);
  if (!key) return make_error(errc::invalid_request, "failed to compute root key: " + key.err().message);
  auto same = barrier_.is_root_key(*key);
  if (!same) return std::move(same).err();
  if (!*same) {
    return make_error(errc::permission_denied,
                      "root key verification failed: the key shares do not reconstruct the root key");
  }
  return ok_v;
}

status seal_manager::commit_rekey(const seal_config& next, const secret& new_root_key,
                                  const std::vector<secret>& new_shares) {
  if (auto v = validate(next); !v) return v;
  if (static_cast<int>(new_shares.size()) != next.shares) {
    return make_error(errc::internal, "rekey: " + std::to_string(new_shares.size()) + " shares for a configuration of " +
                                          std::to_string(next.shares));
  }
  std::lock_guard lock(mu_);
  if (!initialized_) return make_error(errc::not_initialized, "Vault is not initialized");
  if (barrier_.sealed()) return make_error(errc::sealed, "Vault is sealed");
  crash_point("rekey:after-shares-checked");
  if (key_file_) {
    const std::vector<secret> first(new_shares.begin(), new_shares.begin() + next.threshold);
    if (auto s = key_file_->stage(first); !s) {
      return error{s.err().code, "unseal_key_file: " + s.err().message +
                                          "; nothing was changed (the server keeps the key file up to date through "
                                          "a rekey: let it write there, or remove unseal_key_file from the "
                                          "configuration)"};
    }
    crash_point("rekey:after-key-file-staged");
  }
  std::vector<storage::operation> clear;
  clear.push_back(storage::operation::put(config_path, config_json(next)));
  if (auto s = barrier_.rekey(new_root_key, std::move(clear)); !s) {
    if (barrier_.sealed()) {
      // The outcome is unknown and the barrier sealed itself (barrier::rekey): the next unseal tells.
      spdlog::error("rekey: {}; sealed (unseal with the old keys, or, if they no longer work, the new ones{})",
                    s.err().message, key_file_ ? " in " + key_file_->staged_path() : "");
      for (auto& f : on_seal_) f();
      progress_.clear();
      nonce_.clear();
      ++epoch_;
      return s;
    }
    if (key_file_) {
      if (auto d = key_file_->discard(); !d) spdlog::error("rekey: {}", d.err().message);
    }
    return s;
  }
  crash_point("rekey:after-commit");
  config_ = next;
  spdlog::info("rekeyed: {} key shares, threshold {}", next.shares, next.threshold);
  if (key_file_) {
    if (auto s = key_file_->promote(); !s) {
      spdlog::error("rekey: {} (the next start unseals with \"{}\" and renames it)", s.err().message,
                    key_file_->staged_path());
    }
    crash_point("rekey:after-key-file-promoted");
  }
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
