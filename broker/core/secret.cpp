#include "broker/core/secret.hpp"

#include <openssl/crypto.h>

namespace credbroker {

secret& secret::operator=(const secret& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}

secret& secret::operator=(secret&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

bool secret::equals(std::string_view other) const noexcept {
  // Length is not secret for our uses (tokens have a fixed shape); content comparison is.
  if (other.size() != value_.size()) return false;
  return CRYPTO_memcmp(other.data(), value_.data(), value_.size()) == 0;
}

void secret::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

}  // namespace credbroker
