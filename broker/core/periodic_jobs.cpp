#include "broker/core/periodic_jobs.hpp"

namespace credbroker {

periodic_jobs::periodic_jobs(scheduler& s, blocking_executor& e, const clock& c)
    : sched_(s), exec_(e), clock_(c), client_(s.add_client("periodic", [this](std::span<const scheduler::fired> due) {
        on_due(due);
      })) {}

periodic_jobs::~periodic_jobs() {
  sched_.remove_client(client_);
  tasks_.wait_none();
  std::lock_guard lock(mu_);
  for (auto& j : jobs_) (void)sched_.cancel(j->entry);
}

void periodic_jobs::add(std::string name, std::chrono::milliseconds every, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  const auto slot = static_cast<std::uint32_t>(jobs_.size());
  auto j = std::make_unique<job>(job{"periodic|" + name, slot, every, std::move(fn), {}});
  j->entry = sched_.schedule(client_, slot, clock_.now() + every);
  exec_.set_cap(j->key, 1);
  jobs_.push_back(std::move(j));
}

void periodic_jobs::on_due(std::span<const scheduler::fired> due) {
  std::vector<job*> ready;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : due) {
      if (f.slot >= jobs_.size()) continue;
      job& j = *jobs_[f.slot];
      if (j.entry != f.entry) continue;  // stale: fired under a timer since replaced
      j.entry = {};
      ready.push_back(&j);
    }
  }
  for (job* j : ready) run(*j);
}

void periodic_jobs::run(job& j) {
  tasks_.begin();
  exec_.post(j.key, blocking_executor::task([this, &j](bool run) {
    if (run) {
      j.fn();
      std::lock_guard lock(mu_);
      j.entry = sched_.schedule(client_, j.slot, clock_.now() + j.every);
    }
    tasks_.end();
  }));
}

}  // namespace credbroker
