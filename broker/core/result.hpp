#pragma once
// result<T>: a value or an error (code + sanitised, human-readable message) — the currency across
// component boundaries. No exception crosses a boundary; the message is safe to show a client.
#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "broker/core/error.hpp"

namespace credbroker {

struct error {
  std::error_code code;
  std::string message;  // never contains a secret
};

inline error make_error(errc code, std::string message) {
  return error{make_error_code(code), std::move(message)};
}

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const& { assert(!ok()); return std::get<1>(v_); }
  error&& err() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, error> v_;
};

// result<void>
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

}  // namespace credbroker
