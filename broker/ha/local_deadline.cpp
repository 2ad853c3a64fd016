#include "broker/ha/local_deadline.hpp"

#include <algorithm>

namespace credbroker::ha {

local_deadline::local_deadline(std::chrono::milliseconds ttl)
    : ttl_(ttl), margin_(std::max<duration>(ttl / 10, std::chrono::milliseconds(100))) {}

void local_deadline::acquired(time_point sent) {
  holding_ = true;
  confirmed_ = sent;
}

void local_deadline::confirmed(time_point sent) { confirmed_ = std::max(confirmed_, sent); }

}  // namespace credbroker::ha
