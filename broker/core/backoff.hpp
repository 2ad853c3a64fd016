#pragma once
// Exponential backoff without jitter: base, 2×base, 4×base, … for attempts 1, 2, 3, …, never above
// cap. E.g. base 10 s, cap 60 s: 10, 20, 40, 60, 60 s. Used by lease revocation retries (which add
// jitter) and by rotation retries.
#include <algorithm>
#include <chrono>

namespace credbroker {

inline std::chrono::seconds doubling_backoff(std::chrono::seconds base, std::chrono::seconds cap, int attempts) {
  std::chrono::seconds d = base;
  for (int i = 1; i < attempts && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

}  // namespace credbroker
