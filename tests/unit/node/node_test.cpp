// node: the components' start and stop order, step_up / step_down, seal and unseal (in memory, dev
// mode, a fake mount table that records what the node asks of it). HA itself runs against the real
// PostgreSQL in tests/integration/ha/three_node_test.py.
#include "broker/node/node.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace credbroker::node {
namespace {

class recording_mounts final : public mount_tables {
 public:
  void load() override { note("load"); }
  void unload() override { note("unload"); }
  void recover_rotations() override { note("recover_rotations"); }
  void resolve_pending() override { note("resolve_pending"); }
  void reconcile_due() override { note("reconcile_due"); }

  // Waits (bounded, on a condition: no sleep) until `n` calls were recorded.
  std::vector<std::string> wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return calls_.size() >= n; });
    return calls_;
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  void note(std::string what) {
    {
      std::lock_guard lock(mu_);
      calls_.push_back(std::move(what));
    }
    changed_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> calls_;
};

node_options dev_options() {
  node_options o;
  o.dev = true;
  o.config.storage.type = "inmem";
  o.config.executor_threads = 2;
  o.dev_root_token = "root";
  return o;
}

TEST(node, start_steps_up_the_mount_tables_then_restores_in_the_background) {
  auto n = node::open(dev_options());
  ASSERT_TRUE(n) << n.err().message;
  recording_mounts mounts;
  (*n)->attach(mounts);
  EXPECT_FALSE((*n)->active());
  boost::asio::io_context io;
  auto started = (*n)->start(io);
  ASSERT_TRUE(started) << started.err().message;
  EXPECT_FALSE(started->has_value());  // the root token was given
  EXPECT_TRUE((*n)->active());
  // load before anything is served; then, on the executor, the WALs before the pending leases.
  EXPECT_EQ(mounts.wait_for(3), (std::vector<std::string>{"load", "recover_rotations", "resolve_pending"}));
  const auto s = (*n)->status();
  EXPECT_TRUE(s.initialized);
  EXPECT_FALSE(s.sealed);
  EXPECT_FALSE(s.standby);
  EXPECT_FALSE((*n)->ha().enabled);  // sys/leader: ha_enabled false, as without HA
  EXPECT_TRUE((*n)->policies().get("default").value().has_value());  // the default policy, at step-up
  (*n)->stop();
  (*n)->stop();  // idempotent; the destructor stops again
}

TEST(node, step_down_unloads_and_step_up_loads_again) {
  auto n = node::open(dev_options());
  ASSERT_TRUE(n);
  recording_mounts mounts;
  (*n)->attach(mounts);
  boost::asio::io_context io;
  ASSERT_TRUE((*n)->start(io));
  mounts.wait_for(3);
  (*n)->step_down("test");
  EXPECT_FALSE((*n)->active());
  (*n)->step_down("twice");  // nothing more to tear down
  EXPECT_EQ(mounts.calls().size(), 4u);
  EXPECT_EQ(mounts.calls().back(), "unload");
  (*n)->step_up(0);
  EXPECT_TRUE((*n)->active());
  EXPECT_EQ(mounts.wait_for(7), (std::vector<std::string>{"load", "recover_rotations", "resolve_pending", "unload",
                                                          "load", "recover_rotations", "resolve_pending"}));
}

TEST(node, seal_steps_down) {
  auto n = node::open(dev_options());
  ASSERT_TRUE(n);
  recording_mounts mounts;
  (*n)->attach(mounts);
  boost::asio::io_context io;
  ASSERT_TRUE((*n)->start(io));
  mounts.wait_for(3);
  ASSERT_TRUE((*n)->seal().seal());
  EXPECT_FALSE((*n)->active());
  EXPECT_TRUE((*n)->status().sealed);
  EXPECT_EQ(mounts.calls().back(), "unload");
}

TEST(node, a_bad_storage_configuration_is_a_usage_error) {
  node_options o;
  o.config.storage.type = "postgresql";
  o.config.storage.ha_enabled = true;  // without api_addr
  o.config.storage.connection_url = secret(std::string("postgresql://u:p@127.0.0.1:1/db"));
  auto n = node::open(o);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.err().code, make_error_code(errc::invalid_request));
  EXPECT_NE(n.err().message.find("api_addr"), std::string::npos) << n.err().message;
}

}  // namespace
}  // namespace credbroker::node
