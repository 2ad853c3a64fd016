#pragma once
// secret: a string that holds a credential (password, token, key share) and refuses to print it.
//
// Contract:
//   - Every formatting path (operator<<, fmt/spdlog "{}") prints "[redacted]", never the value.
//   - The value is reachable only through reveal(), so each use is greppable in review.
//   - The buffer is wiped (OPENSSL_cleanse) when the secret is destroyed or overwritten.
//   - Comparison is constant-time in the length of the shorter operand's buffer.
// Thread: a secret is a value type; const access from many threads is safe.
#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace credbroker {

class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  secret(const secret& other) = default;
  secret(secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  secret& operator=(const secret& other);
  secret& operator=(secret&& other) noexcept;
  ~secret() { wipe(); }

  // The plaintext. Call sites are the places a credential leaves our control: keep them few.
  [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return value_.size(); }

  // Constant-time equality (for tokens and keys).
  [[nodiscard]] bool equals(std::string_view other) const noexcept;
  friend bool operator==(const secret& a, const secret& b) noexcept { return a.equals(b.value_); }

  static constexpr std::string_view redacted = "[redacted]";

 private:
  void wipe() noexcept;
  std::string value_;
};

inline std::ostream& operator<<(std::ostream& os, const secret&) { return os << secret::redacted; }

}  // namespace credbroker

template <>
struct fmt::formatter<credbroker::secret> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const credbroker::secret&, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(credbroker::secret::redacted, ctx);
  }
};
