#pragma once
// Shared by the benchmark drivers.
#include <fstream>

namespace credbroker::bench {

// Resident set size of this process, from /proc/self/statm.
inline long rss_bytes() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * 4096;
}

}  // namespace credbroker::bench
