#include "broker/audit/sink.hpp"

namespace credbroker::audit {
namespace {

class completed final : public pending_write {
 public:
  explicit completed(bool recorded) : recorded_(recorded) {}
  bool wait() override { return recorded_; }

 private:
  bool recorded_;
};

}  // namespace

std::shared_ptr<pending_write> sink::submit(std::string line) { return completed_write(write(line).ok()); }

std::shared_ptr<pending_write> completed_write(bool recorded) { return std::make_shared<completed>(recorded); }

}  // namespace credbroker::audit
