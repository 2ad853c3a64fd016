#pragma once
// crash_point: a test hook for crash-safety tests. crash_point("rotate-root:after-wal") kills the
// process with SIGKILL when the environment variable CREDBROKER_CRASH_AT equals that name (read once,
// at the first call). Without the variable it costs one comparison. Points are named after the
// protocol step they follow; see docs/rotation.md for the list.
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>

namespace credbroker {

inline void crash_point(std::string_view name) {
  static const std::string target = [] {
    const char* v = std::getenv("CREDBROKER_CRASH_AT");
    return std::string(v == nullptr ? "" : v);
  }();
  if (!target.empty() && target == name) std::raise(SIGKILL);
}

}  // namespace credbroker
