#pragma once
// Sharding of the hot-path metrics: a counter or histogram keeps one cell per shard, each on its own
// cache line, and a thread always writes the cell of its own shard, so two cores incrementing the
// same counter never bounce one cache line between them (an uncontended relaxed add costs a few
// nanoseconds; a contended one, or a mutex, costs 50-100). Reading sums the cells: scrape time, rare.
//
//   shard_count()  a power of two: 2x the hardware threads, clamped to [4, 64]; fixed for the process
//   this_shard()   the calling thread's shard in [0, shard_count()), assigned round-robin at the
//                  thread's first call (threads beyond shard_count() share shards: still correct,
//                  only no longer free of contention)
//
// Thread: both are safe from any thread; this_shard() is a thread-local read after the first call.
#include <cstddef>

namespace credbroker::telemetry {

inline constexpr std::size_t cache_line = 64;

std::size_t shard_count() noexcept;

namespace detail {
std::size_t assign_shard() noexcept;
}  // namespace detail

inline std::size_t this_shard() noexcept {
  thread_local const std::size_t shard = detail::assign_shard();
  return shard;
}

}  // namespace credbroker::telemetry
