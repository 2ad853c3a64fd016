#pragma once
// engine_api: one broker for engine unit tests — storage, the scheduler and executor, leases, the
// rotation scheduler, the database mounts and the API — over the fake plugin and a fake clock;
// restart() rebuilds everything but the storage, as a broker that stopped at any instant would.
// run_due() is the scheduler's wake-up at the clock's now (lease expiry and rotations), waited for.
#include <gtest/gtest.h>

#include "broker/mounts/secret_mounts.hpp"
#include "api/service.hpp"
#include "broker/engine/rotation_scheduler.hpp"
#include "broker/node/boot_history.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/fake_plugin.hpp"
#include "support/json_match.hpp"
#include "support/manual_time.hpp"
#include "support/seal.hpp"

namespace credbroker::test {

using nlohmann::json;
using std::chrono::seconds;

inline const std::string root = "root-token";

// One broker: storage, leases, engines and the API, rebuilt over the same storage by restart().
class engine_api : public ::testing::Test {
 protected:
  engine_api() {
    plugins_.add("fake-database-plugin", [db = db_] { return std::make_unique<testing_support::fake_plugin>(db); });
    start();
    EXPECT_EQ(call("POST", "sys/mounts/database", {{"type", "database"}}).first, 204);
  }

  // Each start plays a new broker process: a new boot id (boot_).
  void start() {
    boot_ = "boot" + std::to_string(++boots_);
    time_ = std::make_unique<manual_time>(clock_);
    rotations_ = std::make_unique<engine::rotation_scheduler>(time_->sched, time_->exec);
    rotations_->start();
    leases::manager_options o;
    o.jitter = false;
    o.max_attempts = 3;
    o.limits = limits_;
    leases_ = std::make_unique<leases::lease_manager>(store_, engines_, clock_, time_->sched, time_->exec, o);
    mounts_ = std::make_unique<mounts::secret_mounts>(
        mounts::engine_services{store_, plugins_, *leases_, passwords_, engines_, clock_, limits_, rotations_.get(), boot_});
    api::services s{node_, authn_};
    s.leases = leases_.get();
    s.clk = &clock_;
    s.secrets = mounts_.get();
    s.passwords = &passwords_;
    svc_ = std::make_unique<api::service>(s);
    EXPECT_TRUE(mounts_->load().ok());
    // As node::step_up: a term begins, the earlier processes (newest first) are the engines' to end.
    leases_->begin_term();
    auto earlier = node::record_active_boot(store_, boot_);
    ASSERT_TRUE(earlier) << earlier.err().message;
    engines_.set_earlier_boots(std::move(*earlier));
  }

  // A broker that stopped at any instant: the memory goes, the storage stays.
  void restart() {
    time_->exec.stop();  // what was queued is lost, as in a crash
    svc_.reset();
    mounts_.reset();
    leases_.reset();
    rotations_.reset();
    time_.reset();
    start();
    mounts_->recover_rotations();
    auto bad = leases_->restore();
    ASSERT_TRUE(bad) << bad.err().message;
    mounts_->resolve_pending();
  }

  std::size_t run_due() { return time_->run_due(); }

  // The engine of the "database/" mount, for what the API does not show (stored passwords).
  std::shared_ptr<engine::database_engine> engine() { return engines_.find_for_lease("database/"); }

  std::pair<int, json> call(const std::string& method, const std::string& path, const json& body = nullptr) {
    api::raw_request r;
    r.method = method;
    r.target = "/v1/" + path;
    if (!body.is_null()) r.body = body.dump();
    r.headers.emplace_back("x-vault-token", root);
    const auto res = svc_->handle(r);
    return {res.status, res.body.empty() ? json(nullptr) : json::parse(res.body)};
  }

  void configure(json extra = json::object()) {
    json body = {{"plugin_name", "fake-database-plugin"},
                 {"connection_url", "fake://{{username}}:{{password}}@db"},
                 {"username", "admin"},
                 {"password", "root-secret"},
                 {"allowed_roles", "app,my-*-role"}};
    body.update(extra);
    ASSERT_EQ(call("POST", "database/config/pg", body).first, 204);
    ASSERT_EQ(call("POST", "database/roles/app", {{"db_name", "pg"},
                                                  {"creation_statements", "CREATE ROLE {{name}}"},
                                                  {"default_ttl", "1h"},
                                                  {"max_ttl", "2h"}})
                  .first,
              204);
  }

  std::size_t users() {
    std::lock_guard lock(db_->mu);
    return db_->users.size();
  }

  storage::inmem_backend store_;
  std::shared_ptr<testing_support::fake_database> db_ = std::make_shared<testing_support::fake_database>();
  plugin::registry plugins_;
  engine::engine_router engines_;
  engine::password_policies passwords_{store_};
  fake_clock clock_{time_point{seconds{1'800'000'000}}};
  leases::ttl_limits limits_{seconds{3600 * 24}, seconds{3600 * 48}};
  fixed_node_status node_{unsealed()};
  auth::root_token_authenticator authn_{secret(root)};
  std::unique_ptr<manual_time> time_;  // before its clients: they leave it when destroyed
  std::unique_ptr<engine::rotation_scheduler> rotations_;
  std::unique_ptr<leases::lease_manager> leases_;
  std::unique_ptr<mounts::secret_mounts> mounts_;
  std::unique_ptr<api::service> svc_;
  int boots_ = 0;
  std::string boot_;  // the current "process"'s boot id
};

}  // namespace credbroker::test
