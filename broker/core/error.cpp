#include "broker/core/error.hpp"

namespace credbroker {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "credbroker"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "ok";
      case errc::invalid_request: return "invalid request";
      case errc::permission_denied: return "permission denied";
      case errc::not_found: return "not found";
      case errc::unsupported_path: return "unsupported path";
      case errc::unsupported_operation: return "unsupported operation";
      case errc::sealed: return "Vault is sealed";
      case errc::not_initialized: return "Vault is not initialized";
      case errc::storage_failure: return "storage failure";
      case errc::integrity_failure: return "integrity check failed";
      case errc::unavailable: return "unavailable";
      case errc::internal: return "internal error";
      case errc::role_not_allowed: return "role not allowed";
      case errc::lease_not_found: return "lease not found";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& credbroker_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace credbroker
