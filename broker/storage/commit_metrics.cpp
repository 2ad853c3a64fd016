#include "broker/storage/commit_metrics.hpp"

#include "broker/telemetry/registry.hpp"

namespace credbroker::storage {
namespace {

struct instruments {
  telemetry::histogram& batch = telemetry::global_registry()
                                    .histograms("credbroker.storage.commit_batch_size",
                                                "Writes committed together in one storage transaction (group commit).",
                                                {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096})
                                    .get();
  telemetry::histogram& duration =
      telemetry::global_registry()
          .histograms("credbroker.storage.commit_duration_seconds",
                      "Time one storage commit took: the transaction and its fsync or round trip.", {},
                      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})
          .get();
};

instruments& m() {
  static instruments i;
  return i;
}

}  // namespace

commit_measure::commit_measure(std::size_t batch_size) { m().batch.observe(static_cast<double>(batch_size)); }

commit_measure::~commit_measure() { m().duration.observe(sw_.seconds()); }

}  // namespace credbroker::storage
