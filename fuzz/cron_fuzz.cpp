// libFuzzer target: the 5-field cron parser and next() (broker/core/cron) on arbitrary bytes.
// Invariants checked: no crash, no hang, no sanitizer report; parsing is deterministic; errors are
// never empty; for a schedule that parses, next(t) is strictly after t, on a whole minute, and asking
// again from one second before the answer gives the same answer.
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/cron.
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "broker/core/cron.hpp"
#include "fuzz/fuzz_targets.hpp"

int credbroker::fuzz::fuzz_cron_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = cron_schedule::parse(text);
  auto b = cron_schedule::parse(text);
  if (a.ok() != b.ok()) std::abort();
  if (!a) {
    if (a.err().message.empty() || a.err().message != b.err().message) std::abort();
    return 0;
  }
  using namespace std::chrono;
  const system_clock::time_point t{seconds{1'790'000'000 + static_cast<long>(size) * 7919}};
  const auto n = a->next(t);
  if (!n) return 0;
  if (*n <= t || floor<minutes>(*n) != *n) std::abort();
  if (a->next(*n - seconds(1)) != n) std::abort();
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_cron_one(data, size);
}
#endif
