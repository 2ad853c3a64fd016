#include "broker/telemetry/shard.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <thread>

namespace credbroker::telemetry {

std::size_t shard_count() noexcept {
  static const std::size_t n = [] {
    const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    return std::clamp<std::size_t>(std::bit_ceil(2 * threads), 4, 64);
  }();
  return n;
}

namespace detail {
std::size_t assign_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) & (shard_count() - 1);
}
}  // namespace detail

}  // namespace credbroker::telemetry
