#pragma once
// commit_measure: one group commit (group_commit.hpp), measured into telemetry::global_registry():
//   credbroker_storage_commit_batch_size        writes (apply calls) committed together, at once
//   credbroker_storage_commit_duration_seconds  the committer's time (the transaction and its
//                                               fsync or round trip), when the measure goes away
//   const commit_measure measured(batch.size());
//   commit_(batch);
// Thread: any; a few lock-free atomic adds.
#include <cstddef>

#include "broker/telemetry/metric.hpp"

namespace credbroker::storage {

class commit_measure {
 public:
  explicit commit_measure(std::size_t batch_size);
  commit_measure(const commit_measure&) = delete;
  commit_measure& operator=(const commit_measure&) = delete;
  ~commit_measure();

 private:
  telemetry::stopwatch sw_;
};

}  // namespace credbroker::storage
