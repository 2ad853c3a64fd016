#include "broker/barrier/rekey_operation.hpp"

#include <spdlog/spdlog.h>

#include "broker/barrier/aes_gcm.hpp"
#include "broker/barrier/root_generation.hpp"
#include "broker/core/random.hpp"

namespace credbroker::barrier {
namespace {

bool already_given(const std::vector<secret>& given, const secret& share) {
  for (const auto& g : given) {
    if (g == share) return true;
  }
  return false;
}

}  // namespace

status rekey_operation::usable() const {
  const auto s = seal_.status();
  if (!s.initialized) return make_error(errc::not_initialized, "Vault is not initialized");
  if (s.sealed) return make_error(errc::sealed, "Vault is sealed");
  return ok_v;
}

rekey_operation::attempt* rekey_operation::current() const {
  if (attempt_ && attempt_->epoch != seal_.epoch()) attempt_.reset();
  return attempt_ ? &*attempt_ : nullptr;
}

result<rekey_status> rekey_operation::status() const {
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  rekey_status out;
  out.required = seal_.config().threshold;
  if (const attempt* a = current()) {
    out.started = true;
    out.nonce = a->nonce;
    out.new_shares = a->request.shares;
    out.new_threshold = a->request.threshold;
    out.progress = static_cast<int>(a->shares.size());
    out.verification_required = a->request.require_verification;
    out.verification_nonce = a->verification_nonce;
  }
  return out;
}

status rekey_operation::start(const rekey_request& r) {
  if (auto v = validate({r.shares, r.threshold}); !v) return v;
  if (auto u = usable(); !u) return u;
  std::lock_guard lock(mu_);
  if (current() != nullptr) return make_error(errc::invalid_request, "rekey already in progress");
  attempt a;
  a.request = r;
  a.nonce = random_uuid();
  a.epoch = seal_.epoch();
  a.started_at = clock_.now();
  spdlog::info("rekey initialized: nonce={} shares={} threshold={} verification_required={}", a.nonce, r.shares,
               r.threshold, r.require_verification);
  attempt_ = std::move(a);
  return ok_v;
}

result<std::optional<rekey_result>> rekey_operation::update(const secret& share, const std::string& nonce) {
  if (auto u = usable(); !u) return std::move(u).err();
  if (auto l = check_share_length(share); !l) return std::move(l).err();
  std::lock_guard lock(mu_);
  attempt* a = current();
  if (a == nullptr) return make_error(errc::invalid_request, "no barrier rekey in progress");
  if (!a->verification_nonce.empty()) {
    return make_error(errc::invalid_request,
                      "rekey operation already finished; verification must be performed; nonce for the verification "
                      "operation is \"" + a->verification_nonce + "\"");
  }
  if (nonce != a->nonce) {
    return make_error(errc::invalid_request,
                      "incorrect nonce supplied; nonce for this rekey operation is \"" + a->nonce + "\"");
  }
  if (already_given(a->shares, share)) {
    return make_error(errc::invalid_request, "given key has already been provided during this generation operation");
  }
  a->shares.push_back(share);
  if (static_cast<int>(a->shares.size()) < seal_.config().threshold) return std::optional<rekey_result>{};
  const std::vector<secret> old_shares = std::move(a->shares);
  a->shares.clear();
  if (auto ok = seal_.check_shares(old_shares); !ok) {
    spdlog::error("rekey: {}", ok.err().message);
    return std::move(ok).err();
  }
  const auto raw = random_bytes(key_size);
  secret new_key(std::string(raw.begin(), raw.end()));
  auto new_shares = split_root_key(new_key, {a->request.shares, a->request.threshold});
  if (!new_shares) return std::move(new_shares).err();
  rekey_result out;
  out.nonce = a->nonce;
  out.keys = *new_shares;
  if (a->request.require_verification) {
    a->new_key = std::move(new_key);
    a->new_shares = std::move(*new_shares);
    a->verification_nonce = random_uuid();
    out.verification_required = true;
    out.verification_nonce = a->verification_nonce;
    return std::optional<rekey_result>(std::move(out));
  }
  if (auto c = seal_.commit_rekey({a->request.shares, a->request.threshold}, new_key, *new_shares); !c) {
    return std::move(c).err();
  }
  attempt_.reset();
  return std::optional<rekey_result>(std::move(out));
}

status rekey_operation::cancel(const std::string& nonce, bool privileged) {
  if (auto u = usable(); !u) return u;
  std::lock_guard lock(mu_);
  const attempt* a = current();
  if (a == nullptr) return ok_v;
  if (!nonce.empty() && nonce != a->nonce) {
    return make_error(errc::invalid_request,
                      "incorrect nonce supplied; nonce for this rekey operation is \"" + a->nonce + "\"");
  }
  if (nonce.empty() && !privileged && clock_.now() - a->started_at < cancel_grace) {
    return make_error(errc::invalid_request,
                      "the rekey was initialized less than 10 minutes ago: give its nonce to cancel it");
  }
  spdlog::info("rekey canceled: nonce={}", a->nonce);
  attempt_.reset();
  return ok_v;
}

result<verification_status> rekey_operation::verification() const {
  if (auto u = usable(); !u) return std::move(u).err();
  std::lock_guard lock(mu_);
  const attempt* a = current();
  if (a == nullptr) return make_error(errc::invalid_request, "no rekey configuration found");
  verification_status out;
  out.started = !a->verification_nonce.empty();
  out.nonce = a->verification_nonce;
  out.new_shares = a->request.shares;
  out.new_threshold = a->request.threshold;
  out.progress = static_cast<int>(a->verification.size());
  return out;
}

result<std::optional<std::string>> rekey_operation::verify(const secret& share, const std::string& nonce) {
  if (auto u = usable(); !u) return std::move(u).err();
  if (auto l = check_share_length(share); !l) return std::move(l).err();
  std::lock_guard lock(mu_);
  attempt* a = current();
  if (a == nullptr) return make_error(errc::invalid_request, "no rekey in progress");
  if (a->verification_nonce.empty()) return make_error(errc::invalid_request, "no rekey verification in progress");
  if (nonce != a->verification_nonce) {
    return make_error(errc::invalid_request,
                      "incorrect nonce supplied; nonce for this verify operation is \"" + a->verification_nonce + "\"");
  }
  if (already_given(a->verification, share)) {
    return make_error(errc::invalid_request, "given key has already been provided during this verify operation");
  }
  a->verification.push_back(share);
  if (static_cast<int>(a->verification.size()) < a->request.threshold) return std::optional<std::string>{};
  const std::vector<secret> given = std::move(a->verification);
  a->verification.clear();
  auto key = combine_shares(given, {a->request.shares, a->request.threshold});
  if (!key || !(*key == a->new_key)) {
    a->verification_nonce = random_uuid();
    spdlog::error("rekey verification failed");
    if (!key) return make_error(errc::internal, "failed to compute key for verification: " + key.err().message);
    return make_error(errc::invalid_request, "rekey verification failed; incorrect key shares supplied");
  }
  if (auto c = seal_.commit_rekey({a->request.shares, a->request.threshold}, a->new_key, a->new_shares); !c) {
    a->verification_nonce = random_uuid();
    return std::move(c).err();
  }
  std::string done = a->verification_nonce;
  attempt_.reset();
  return std::optional<std::string>(std::move(done));
}

status rekey_operation::restart_verification() {
  if (auto u = usable(); !u) return u;
  std::lock_guard lock(mu_);
  if (attempt* a = current(); a != nullptr && !a->verification_nonce.empty()) {
    a->verification.clear();
    a->verification_nonce = random_uuid();
  }
  return ok_v;
}

}  // namespace credbroker::barrier
