#include "broker/mounts/secret_mounts.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>

#include "support/test_store.hpp"
#include "support/fake_plugin.hpp"
#include "support/manual_time.hpp"

namespace credbroker::mounts {
namespace {

using std::chrono::seconds;

// Storage whose writes of core/mounts can be held inside the write (the table's write lock taken).
class holding_store final : public storage::physical {
 public:
  result<std::optional<std::string>> get(const std::string& k) override { return inner.get(k); }
  result<std::vector<std::string>> list(const std::string& p) override { return inner.list(p); }
  status scan(const std::string& p, const std::function<bool(const std::string&, std::string_view)>& v) override {
    return inner.scan(p, v);
  }
  status apply(std::vector<storage::operation> ops) override {
    bool table = false;
    for (const auto& op : ops) table = table || op.key == secret_mounts::table_key;
    if (table) {
      std::unique_lock lock(mu);
      if (hold) {
        held = true;
        cv.notify_all();
        cv.wait(lock, [&] { return !hold; });
      }
    }
    return inner.apply(std::move(ops));
  }
  // Waits (up to 10 s) until a table write is held.
  bool wait_held() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, seconds{10}, [&] { return held; });
  }
  void release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }

  test::test_store inner;
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  bool held = false;
};

struct recording_observer final : secret_mount_observer {
  void mounted(const std::string& path, std::shared_ptr<engine::database_engine>) override { events.push_back("+" + path); }
  void unmounted(const std::string& path) override { events.push_back("-" + path); }
  std::vector<std::string> events;
};

class secret_mounts_test : public ::testing::Test {
 protected:
  secret_mounts_test() {
    plugins_.add("fake-database-plugin", [db = db_] { return std::make_unique<testing_support::fake_plugin>(db); });
    leases::manager_options o;
    o.jitter = false;
    o.limits = server_;
    leases_ = std::make_unique<leases::lease_manager>(store_, engines_, clock_, time_.sched, time_.exec, o);
    mounts_ = make();
  }

  std::unique_ptr<secret_mounts> make() {
    auto m = std::make_unique<secret_mounts>(engine_services{store_, plugins_, *leases_, passwords_, engines_, clock_, server_});
    m->observe(&seen_);
    return m;
  }

  // A connection and a role on the mount's engine; returns the engine.
  std::shared_ptr<engine::database_engine> configured(const std::string& mount) {
    auto e = engines_.find_for_lease(mount);
    EXPECT_TRUE(e);
    engine::config_update c;
    c.name = "pg";
    c.plugin_name = "fake-database-plugin";
    c.allowed_roles = std::vector<std::string>{"*"};
    c.details = {{"connection_url", "fake://db"}, {"username", "admin"}, {"password", "pw"}};
    EXPECT_TRUE(e->write_config(c));
    engine::role r;
    r.name = "app";
    r.db_name = "pg";
    r.creation_statements = {"CREATE ROLE {{name}}"};
    EXPECT_TRUE(e->write_role(r));
    return e;
  }

  std::size_t users() {
    std::lock_guard lock(db_->mu);
    return db_->users.size();
  }

  holding_store store_;
  std::shared_ptr<testing_support::fake_database> db_ = std::make_shared<testing_support::fake_database>();
  plugin::registry plugins_;
  engine::engine_router engines_;
  engine::password_policies passwords_{store_};
  fake_clock clock_{time_point{seconds{1'800'000'000}}};
  leases::ttl_limits server_{seconds{3600}, seconds{7200}};
  test::manual_time time_{clock_};
  std::unique_ptr<leases::lease_manager> leases_;
  recording_observer seen_;
  std::unique_ptr<secret_mounts> mounts_;
};

TEST_F(secret_mounts_test, enable_stores_then_publishes_and_a_new_table_loads_it) {
  ASSERT_TRUE(mounts_->enable("team/db", "database", "the team's", seconds{0}, seconds{0}));
  EXPECT_EQ(seen_.events, std::vector<std::string>{"+team/db/"});
  EXPECT_EQ(mounts_->mount_of("team/db/creds/app"), "team/db/");
  EXPECT_EQ(mounts_->mount_of("sys/mounts"), "sys/");
  const auto row = mounts_->find("team/db");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->description, "the team's");
  EXPECT_TRUE(engines_.find_for_lease("team/db/creds/app/x"));

  mounts_.reset();
  EXPECT_FALSE(engines_.find_for_lease("team/db/creds/app/x"));  // the table took its engines out
  seen_.events.clear();
  mounts_ = make();
  ASSERT_TRUE(mounts_->load());
  EXPECT_EQ(seen_.events, std::vector<std::string>{"+team/db/"});
  EXPECT_EQ(mounts_->find("team/db/")->uuid, row->uuid);
}

TEST_F(secret_mounts_test, refusals_change_nothing) {
  ASSERT_TRUE(mounts_->enable("db", "database", "", seconds{0}, seconds{0}));
  seen_.events.clear();
  struct row {
    std::string path, type, error;
  };
  const std::vector<row> rows = {
      {"db/prod", "database", "path is already in use at db/"},
      {"", "database", "path cannot be empty"},
      {"sys/db", "database", "cannot mount under a reserved path: sys/db/"},
      {"kv", "", "backend type must be specified as a string"},
      {"kv", "kv", "unknown secrets engine type \"kv\" (credbroker serves \"database\")"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path + " " + r.type);
    auto s = mounts_->enable(r.path, r.type, "", seconds{0}, seconds{0});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().code, make_error_code(errc::invalid_request));
    EXPECT_EQ(s.err().message, r.error);
  }
  store_.inner.fail_writes(true);
  EXPECT_FALSE(mounts_->enable("other", "database", "", seconds{0}, seconds{0}));
  EXPECT_FALSE(mounts_->tune("db", {seconds{60}, std::nullopt, std::nullopt}));
  store_.inner.fail_writes(false);
  EXPECT_EQ(mounts_->rows().size(), 1U);
  EXPECT_EQ(mounts_->limits_of("db")->default_ttl, seconds{3600});
  EXPECT_TRUE(seen_.events.empty());
}

TEST_F(secret_mounts_test, tune_reaches_the_engine_and_is_checked) {
  ASSERT_TRUE(mounts_->enable("database", "database", "", seconds{0}, seconds{0}));
  auto e = configured("database/");
  auto creds = e->issue("app", {});
  ASSERT_TRUE(creds) << creds.err().message;
  EXPECT_EQ(creds->ttl, seconds{3600});
  ASSERT_TRUE(mounts_->tune("database", {seconds{600}, seconds{1200}, std::string("tuned")}));
  creds = e->issue("app", {});
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->ttl, seconds{600});
  EXPECT_EQ(mounts_->find("database")->description, "tuned");
  auto bad = mounts_->tune("database", {seconds{1800}, std::nullopt, std::nullopt});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().message, "backend max lease TTL of 1200 would be less than backend default lease TTL of 1800");
  bad = mounts_->tune("database", {std::nullopt, seconds{9000}, std::nullopt});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().message, "max lease TTL cannot be greater than the server's max_lease_ttl");
  bad = mounts_->tune("nope", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().message, "tune of path \"nope/\" failed: no mount entry found");
}

// A table write in progress (another mount enabled, this one tuned) holds only the table's write
// lock: issuance, which reads the limits, does not wait for it.
TEST_F(secret_mounts_test, issuance_does_not_wait_for_a_table_write) {
  ASSERT_TRUE(mounts_->enable("database", "database", "", seconds{0}, seconds{0}));
  auto e = configured("database/");
  store_.hold = true;
  auto enabling = std::async(std::launch::async, [&] { return mounts_->enable("other", "database", "", seconds{0}, seconds{0}); });
  ASSERT_TRUE(store_.wait_held());
  // Issued while the enable is held inside its write (it took the table's mutex, once, in the
  // limits' path: then this waited for the release).
  auto issuing = std::async(std::launch::async, [&] { return e->issue("app", {}); });
  const bool issued_meanwhile = issuing.wait_for(seconds{10}) == std::future_status::ready;
  EXPECT_FALSE(mounts_->find("other"));  // not published before it is stored
  EXPECT_EQ(mounts_->limits_of("database")->max_ttl, seconds{7200});
  store_.release();
  EXPECT_TRUE(issued_meanwhile);
  auto creds = issuing.get();
  EXPECT_TRUE(creds) << creds.err().message;
  EXPECT_TRUE(enabling.get());
  EXPECT_TRUE(mounts_->find("other"));
}

TEST_F(secret_mounts_test, disable_revokes_deletes_and_forgets) {
  ASSERT_TRUE(mounts_->enable("database", "database", "", seconds{0}, seconds{0}));
  auto e = configured("database/");
  ASSERT_TRUE(e->issue("app", {}));
  ASSERT_TRUE(e->issue("app", {}));
  EXPECT_EQ(users(), 2U);
  const std::string data = "logical/" + mounts_->find("database")->uuid + "/";
  EXPECT_FALSE(store_.inner.list(data)->empty());

  // A remount is refused while the mount holds leases.
  auto moved = mounts_->remount("database", "db2");
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.err().message.find("it holds 2 lease(s)"), std::string::npos);

  seen_.events.clear();
  ASSERT_TRUE(mounts_->disable("database"));
  EXPECT_EQ(users(), 0U);
  EXPECT_TRUE(store_.inner.list(data)->empty());
  EXPECT_FALSE(mounts_->find("database"));
  EXPECT_FALSE(engines_.find_for_lease("database/creds/app/x"));
  ASSERT_FALSE(seen_.events.empty());
  EXPECT_EQ(seen_.events.front(), "-database/");
  EXPECT_TRUE(mounts_->disable("database"));  // twice is fine
}

TEST_F(secret_mounts_test, remount_keeps_the_data_under_its_uuid) {
  ASSERT_TRUE(mounts_->enable("database", "database", "", seconds{0}, seconds{0}));
  configured("database/");
  const std::string uuid = mounts_->find("database")->uuid;
  seen_.events.clear();
  ASSERT_TRUE(mounts_->remount("database", "db/prod"));
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"-database/", "+db/prod/"}));
  EXPECT_EQ(mounts_->find("db/prod")->uuid, uuid);
  auto e = engines_.find_for_lease("db/prod/");
  ASSERT_TRUE(e);
  auto cfg = e->read_config("pg");
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->has_value());
  auto taken = mounts_->remount("db/prod", "sys/x");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.err().message, "cannot mount under a reserved path: sys/x/");
}

}  // namespace
}  // namespace credbroker::mounts
