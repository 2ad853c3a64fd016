#pragma once
// node: one credbroker server below its API. It owns the components in construction order, starts
// and stops them, and is where the node becomes active (step_up) and stops being it (step_down).
//
// Construction order (members below, destroyed in reverse):
//   storage backend -> barrier -> seal manager -> clock -> token store -> policy store
//   -> scheduler -> blocking executor -> plugin registry -> engine router -> password policies
//   -> revoker -> lease manager -> rotation scheduler -> audit broker -> audit table -> usage gauges
//   -> periodic jobs -> (HA) leadership, leadership loop
// The mount tables live above (api/) and are attached before start().
//
// Lifecycle:
//   open(options)   opens the storage; errors: errc::invalid_request (bad configuration: exit 2),
//                   others (storage unreachable: exit 1)
//   attach(mounts)  the mount tables (before start)
//   start(io)       loads the seal state; dev mode initialises, unseal_key_file unseals; from then on
//                   the barrier's unseal and seal call on_unseal() and on_seal(); starts the timer
//                   driver on `io` (it fires only while active()) and, with HA, the leadership loop
//   on_unseal()     no HA: step_up(). HA: contend for the leadership (standby until acquired); a
//                   node of an uninitialised cluster contends from the start and holds the
//                   leadership without stepping up, so that `operator init` through it can write
//   on_seal()       step_down(); HA: stop contending (a held leadership is released)
//   step_up(epoch)  become the active node, in order:
//                     1. (HA) reload the keyring (the former active may have rotated it) and clear
//                        the token and policy caches (it may have changed them)
//                     2. open the audit devices; 3. the default policy; 4. the mount tables
//                     5. the lease manager's term begins (leases issued before are inherited) and
//                        this boot is recorded in the boot history, the earlier boots handed to the
//                        engines (boot_history.hpp)
//                     6. active() = true: requests are served here, the timers fire
//                     7. in the background on the executor ("startup", cap 1) while requests are
//                        served: (HA) empty the lease index of a former term; settle the rotation
//                        WALs, then start the rotation schedule; rebuild the lease index from storage
//                        (what expired while no node was active fires at once); settle the pending
//                        leases of a crashed or former active (its database sessions ended first:
//                        engine/database_engine.hpp); the first usage census
//   step_down(why)  stop being it, in order: active() = false (at once: the HTTP layer forwards from
//                   now on, the timers stop firing, revocations refuse to call the database); the
//                   mount tables unloaded; the audit devices closed; (HA) the rotation schedule
//                   stopped, the lease index emptied, the token and policy caches cleared
//   stop_timers()   at the first SIGTERM: no more due work
//   stop()          after the request workers joined: the leadership released (a standby takes over
//                   in milliseconds), the executor stopped (queued tasks cancelled)
//
// HA (storage.postgresql.ha_enabled): the leadership's on_acquired calls step_up on the loop's
// thread; on_lost (any thread: a fenced storage commit, the deadline check) only marks the node not
// active and wakes the loop, which runs step_down: the node stops acting at once and tears down on
// a thread that holds no component's lock. Without HA the node is active whenever unsealed and
// behaves as the single server always did.
//
// Thread: status(), ha(), active() from any thread, never blocking. step_up/step_down take
// transition_mu_ (one transition at a time; held across the components' loads, never taken by a
// request). Lock order: transition_mu_ -> the components' own locks; leader_mu_ (the last leader
// seen) is a leaf.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "broker/audit/audit_broker.hpp"
#include "broker/audit/audit_table.hpp"
#include "broker/auth/policy_store.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/barrier/barrier.hpp"
#include "broker/barrier/seal_manager.hpp"
#include "broker/config/server_config.hpp"
#include "broker/core/blocking_executor.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/node_status.hpp"
#include "broker/core/periodic_jobs.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/core/scheduler_driver.hpp"
#include "broker/engine/password_policy.hpp"
#include "broker/engine/rotation_scheduler.hpp"
#include "broker/engine/usage_gauges.hpp"
#include "broker/ha/postgresql_leadership.hpp"
#include "broker/node/leadership_loop.hpp"
#include "broker/node/mount_tables.hpp"
#include "broker/plugin/registry.hpp"
#include "leases/lease_manager.hpp"
#include "leases/metered_revoker.hpp"

namespace credbroker::node {

struct node_options {
  config::server_config config;
  bool dev = false;          // in memory, initialised with one key share, a root token made
  bool fresh_store = false;  // -fresh-store (barrier/store_layout.hpp)
  std::optional<std::string> dev_root_token;  // dev: the root token's id; nullopt: a generated one
  // Registers the store's security state (barrier/store_layout.hpp); the composition root knows the
  // keys of the components above the node (the mount tables).
  std::function<void(barrier::store_layout&, storage::physical&, auth::token_store&)> security_state;
  // Called once per built-in plugin registration (plugins/ are linked by the composition root).
  std::function<void(plugin::registry&)> register_plugins;
  std::string node_id;  // HA: unique per node; empty: a random one
};

class node final : public node_status {
 public:
  static result<std::unique_ptr<node>> open(node_options options);
  ~node() override;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  void attach(mount_tables& m) { mounts_ = &m; }
  // Dev mode: the root token made (nullopt when given with dev_root_token or not dev).
  result<std::optional<secret>> start(boost::asio::io_context& io);
  void stop_timers();
  void stop();

  void on_unseal();
  void on_seal();
  void step_up(std::uint64_t epoch);
  void step_down(const std::string& why);

  bool active() const { return active_.load(); }
  seal_snapshot status() const override;
  ha_snapshot ha() const override;

  // The components, for the layers above.
  const config::server_config& config() const { return cfg_; }
  storage::physical& store() { return *backend_; }
  barrier::barrier& encrypted() { return barrier_; }
  barrier::seal_manager& seal() { return seal_; }
  const clock& wall() const { return wall_; }
  auth::token_store& tokens() { return tokens_; }
  auth::policy_store& policies() { return policies_; }
  scheduler& timers() { return timers_; }
  blocking_executor& blocking() { return blocking_; }
  plugin::registry& plugins() { return plugins_; }
  engine::engine_router& engines() { return engines_; }
  engine::password_policies& passwords() { return passwords_; }
  leases::lease_manager& leases() { return leases_; }
  const leases::ttl_limits& limits() const { return lease_opts_.limits; }
  engine::rotation_scheduler& rotations() { return rotations_; }
  audit::audit_broker& audit() { return audit_broker_; }
  audit::audit_table& audit_devices() { return audit_devices_; }
  engine::usage_gauges& usage() { return usage_; }

 private:
  node(node_options options, std::unique_ptr<storage::physical> backend, storage::postgresql_backend* ha_backend);
  leases::manager_options lease_options();
  credbroker::status open_leadership();
  void add_periodic_jobs();
  // Restore step 6 of step_up, on the executor; does nothing once the term `term` has ended.
  void restore_in_background(std::uint64_t term);
  // The lost signal: not active at once; the loop finishes the step-down.
  void lost(const std::string& why);
  void settle();
  void leader_seen(const std::optional<ha::leader_info>& seen);
  bool acting();  // active(), after applying the leadership's local deadline (HA)
  // step_up: records this process in the boot history and gives the engines the earlier ones.
  void inherit_earlier_boots();

  const config::server_config cfg_;
  const node_options opts_;
  std::unique_ptr<storage::physical> backend_;
  storage::postgresql_backend* ha_backend_ = nullptr;  // HA: the same backend, for the leadership
  barrier::barrier barrier_;
  barrier::seal_manager seal_;
  system_clock wall_;
  auth::token_store tokens_;
  auth::policy_store policies_;
  scheduler timers_;
  blocking_executor blocking_;
  plugin::registry plugins_;
  engine::engine_router engines_;
  engine::password_policies passwords_;
  leases::manager_options lease_opts_;
  leases::metered_revoker revoker_;
  leases::lease_manager leases_;
  engine::rotation_scheduler rotations_;
  audit::audit_broker audit_broker_;
  audit::audit_table audit_devices_;
  engine::usage_gauges usage_;
  periodic_jobs periodic_;
  std::unique_ptr<ha::postgresql_leadership> leadership_;
  std::unique_ptr<leadership_loop> loop_;
  std::unique_ptr<scheduler_driver> driver_;
  mount_tables* mounts_ = nullptr;

  std::atomic<bool> active_{false};
  std::atomic<std::uint64_t> term_{0};  // grows at every step_up and step_down
  std::mutex transition_mu_;            // one step_up / step_down at a time
  bool stepped_up_ = false;             // guarded by transition_mu_: the components are loaded
  std::string lost_why_;                // guarded by leader_mu_
  mutable std::mutex leader_mu_;        // guards the two fields below and lost_why_
  std::string leader_address_;          // standby: the active's api_addr last seen; empty: none known
  std::string active_time_;             // active: when this term began (RFC 3339)
};

}  // namespace credbroker::node
