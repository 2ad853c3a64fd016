#include "broker/node/node.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "broker/barrier/unseal_key_file.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"
#include "broker/node/boot_history.hpp"
#include "broker/plugin/boot_id.hpp"
#include "broker/plugin/metered_plugin.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/postgresql_backend.hpp"
#include "broker/storage/sqlite_backend.hpp"

namespace credbroker::node {
namespace {

std::string cluster_name_of(const config::server_config& c) {
  return c.cluster_name.empty() ? "credbroker-cluster" : c.cluster_name;
}

struct opened_storage {
  std::unique_ptr<storage::physical> backend;
  storage::postgresql_backend* ha = nullptr;
};

result<opened_storage> open_storage(const config::server_config& cfg, bool fresh_store) {
  opened_storage out;
  if (cfg.storage.type == "sqlite") {
    storage::sqlite_options so;
    so.path = (std::filesystem::path(cfg.storage.path) / "credbroker.db").string();
    so.accept_empty_file = fresh_store;
    auto opened = storage::sqlite_backend::open(so);
    if (!opened) return std::move(opened).err();
    out.backend = std::move(*opened);
  } else if (cfg.storage.type == "postgresql") {
    if (cfg.storage.ha_enabled && cfg.api_addr.empty()) {
      return make_error(errc::invalid_request,
                        "api_addr: required with storage.postgresql.ha_enabled (the address standbys forward "
                        "to, e.g. \"http://10.0.0.5:8200\")");
    }
    storage::postgresql_options po;
    po.connection_url = cfg.storage.connection_url;
    po.table = cfg.storage.table;
    po.max_parallel = cfg.storage.max_parallel;
    po.ha_enabled = cfg.storage.ha_enabled;
    po.ha_table = cfg.storage.ha_table;
    auto opened = storage::postgresql_backend::open(po);
    if (!opened) return std::move(opened).err();
    if (cfg.storage.ha_enabled) out.ha = opened->get();
    out.backend = std::move(*opened);
  } else {
    out.backend = std::make_unique<storage::inmem_backend>();
  }
  return out;
}

}  // namespace

result<std::unique_ptr<node>> node::open(node_options options) {
  auto opened = open_storage(options.config, options.fresh_store);
  if (!opened) return std::move(opened).err();
  std::unique_ptr<node> n(new node(std::move(options), std::move(opened->backend), opened->ha));
  if (n->ha_backend_ != nullptr) {
    if (auto s = n->open_leadership(); !s) return std::move(s).err();
  }
  return n;
}

node::node(node_options options, std::unique_ptr<storage::physical> backend, storage::postgresql_backend* ha_backend)
    : cfg_(options.config),
      opts_(std::move(options)),
      backend_(std::move(backend)),
      ha_backend_(ha_backend),
      barrier_(*backend_),
      seal_(*backend_, barrier_, cfg_.storage.type, cluster_name_of(cfg_)),
      tokens_(barrier_, wall_, {cfg_.default_lease_ttl, cfg_.max_lease_ttl}),
      policies_(barrier_),
      timers_(wall_.now()),
      blocking_({cfg_.executor_threads, cfg_.revocation.per_connection}),
      passwords_(barrier_),
      lease_opts_(lease_options()),
      revoker_(engines_, wall_, lease_opts_.max_attempts),  // vault_expire_* (metered_revoker.hpp)
      leases_(barrier_, revoker_, wall_, timers_, blocking_, lease_opts_),
      rotations_(timers_, blocking_),
      audit_broker_(wall_),
      audit_devices_(barrier_, audit_broker_, {cfg_.allow_audit_log_prefixing}),
      usage_(barrier_, engines_, wall_),
      periodic_(timers_, blocking_, wall_) {
  if (opts_.security_state) opts_.security_state(seal_.layout(), barrier_, tokens_);
  seal_.layout().accept_lost_state(opts_.fresh_store);
  blocking_.set_cap("startup", 1);  // one restore at a time (seal and unseal again: the next waits)
  if (opts_.register_plugins) opts_.register_plugins(plugins_);
  plugin::meter_plugins(plugins_);  // vault_database_* (metered_plugin.hpp)
  // Revoking a token revokes the leases it created.
  tokens_.on_revoke([this](const std::string& accessor) {
    if (auto s = leases_.expire_by_token(accessor); !s) {
      spdlog::error("leases of a revoked token could not be scheduled for revocation: {}", s.err().message);
    }
  });
  add_periodic_jobs();
}

node::~node() { stop(); }

leases::manager_options node::lease_options() {
  leases::manager_options o;
  o.limits = {cfg_.default_lease_ttl, cfg_.max_lease_ttl};
  o.max_attempts = static_cast<int>(cfg_.revocation.max_attempts);
  o.backoff_base = cfg_.revocation.backoff_base;
  o.backoff_cap = cfg_.revocation.backoff_cap;
  o.irrevocable_retry = cfg_.revocation.irrevocable_retry;
  o.token_index_key = [this](const std::string& accessor) { return tokens_.accessor_key(accessor); };
  if (ha_backend_ != nullptr) {
    o.acting = [this] { return acting(); };
  }
  return o;
}

status node::open_leadership() {
  ha::leadership_options lo;
  lo.node_id = opts_.node_id;
  lo.api_addr = cfg_.api_addr;
  lo.ttl = cfg_.storage.ha_lock_ttl;
  lo.acquire_wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), cfg_.storage.ha_lock_ttl / 2);
  auto l = ha::postgresql_leadership::open(*ha_backend_, lo);
  if (!l) return std::move(l).err();
  leadership_ = std::move(*l);
  leadership_->on_acquired([this](std::uint64_t epoch) { step_up(epoch); });
  leadership_->on_lost([this](std::uint64_t, const std::string& why) { lost(why); });
  loop_ = std::make_unique<leadership_loop>(
      *leadership_, leadership_loop::hooks{[this] { settle(); },
                                           [this](const std::optional<ha::leader_info>& seen) { leader_seen(seen); }});
  return ok_v;
}

void node::add_periodic_jobs() {
  // They run only while the timers fire, i.e. while this node is the active one (start()).
  // Connections whose databases can list their users (Redis) are compared with their leases.
  periodic_.add("reconcile", std::chrono::seconds(5), [this] {
    if (!seal_.status().sealed && mounts_ != nullptr) mounts_->reconcile_due();
  });
  // Expired tokens are revoked when presented; this sweep catches the ones nobody presents.
  periodic_.add("token-tidy", std::chrono::minutes(1), [this] {
    if (!seal_.status().sealed) tokens_.tidy();
  });
  // The census of leases and rotations behind the metrics' gauges (docs/telemetry.md).
  if (cfg_.telemetry.usage_gauge_period.count() > 0) {
    periodic_.add("usage-census", std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.telemetry.usage_gauge_period),
                  [this] {
                    if (!seal_.status().sealed) usage_.refresh();
                  });
  }
}

result<std::optional<secret>> node::start(boost::asio::io_context& io) {
  if (auto s = seal_.load(); !s) return std::move(s).err();
  std::optional<secret> made;
  if (opts_.dev) {
    auto keys = seal_.init(1, 1);  // leaves the barrier unsealed
    if (!keys) return std::move(keys).err();
    auto token = tokens_.create_root(opts_.dev_root_token);
    if (!token) return std::move(token).err();
    if (!opts_.dev_root_token) made = std::move(*token);
  } else if (!cfg_.unseal_key_file.empty()) {
    // The file also follows every rekey (barrier/unseal_key_file.hpp).
    seal_.set_key_file(barrier::unseal_key_file(cfg_.unseal_key_file));
    if (auto s = barrier::auto_unseal(seal_, barrier::unseal_key_file(cfg_.unseal_key_file), opts_.fresh_store); !s) {
      return std::move(s).err();
    }
  }
  const auto st = seal_.status();
  if (!st.initialized) {
    spdlog::warn("storage is not initialised: run \"credbroker operator init\" against this server");
  } else if (st.sealed) {
    spdlog::warn("sealed: give {} unseal keys with \"credbroker operator unseal\"", st.threshold);
  }
  seal_.on_unseal([this] { on_unseal(); });
  seal_.on_seal([this] { on_seal(); });
  // The one timer of the process (lease expiry and retries, rotations, periodic jobs), driven on the
  // io_context while this node is unsealed and active. Asks the barrier, not the seal manager: its
  // lock is held across init's and unseal's storage I/O.
  driver_ = std::make_unique<scheduler_driver>(io, timers_, wall_, [this] { return !barrier_.sealed() && acting(); });
  if (loop_) {
    // An uninitialised cluster contends too: the node holding the leadership can be initialised
    // (init writes through the fenced writer). A sealed, initialised node does not.
    loop_->contend(!st.initialized);
    loop_->start();
  }
  if (!st.sealed) on_unseal();
  driver_->start();
  return made;
}

void node::stop_timers() {
  if (driver_) driver_->stop();
}

void node::stop() {
  stop_timers();
  if (loop_) loop_->stop();  // releases the leadership: a standby takes over at once
  // Tasks on the executor use every component: it stops (queued tasks cancelled, running ones
  // finished) before any of them is destroyed.
  blocking_.stop();
}

void node::on_unseal() {
  if (!loop_) {
    step_up(0);
    return;
  }
  loop_->contend(true);
  // Initialised through this node, which held the leadership for it: active now.
  if (leadership_->is_leader()) step_up(leadership_->epoch());
}

void node::on_seal() {
  if (loop_) loop_->contend(false);
  step_down("sealed");
  tokens_.clear_cache();
  policies_.clear_cache();
}

void node::step_up(std::uint64_t epoch) {
  std::lock_guard lock(transition_mu_);
  if (stepped_up_) {
    // A new term began before the loop settled the end of the last one.
    active_ = false;
    stepped_up_ = false;
    if (mounts_ != nullptr) mounts_->unload();
    audit_devices_.unload();
  }
  if (loop_ && barrier_.sealed()) {
    // Uninitialised: the leadership is held so that this node can be initialised; on_unseal steps up.
    spdlog::info("HA: holding the leadership (epoch {}) while the storage is not initialised", epoch);
    return;
  }
  if (loop_) {
    spdlog::info("HA: this node is the active node now (epoch {})", epoch);
    if (auto s = barrier_.reload_keyring(); !s) {
      spdlog::error("HA: cannot become active: the keyring could not be read again ({}); sealing this node: "
                    "unseal it again",
                    s.err().message);
      leadership_->release();
      barrier_.seal();
      return;
    }
    tokens_.clear_cache();
    policies_.clear_cache();
  }
  (void)audit_devices_.load();
  if (auto s = policies_.ensure_default(); !s) spdlog::error("default policy: {}", s.err().message);
  if (mounts_ != nullptr) mounts_->load();
  // Before anything is served: a revocation may come at once, and the leases issued before now are
  // inherited (leases/lease_manager.hpp).
  leases_.begin_term();
  inherit_earlier_boots();
  {
    std::lock_guard seen(leader_mu_);
    active_time_ = format_rfc3339_nano(std::chrono::system_clock::now());
    leader_address_ = cfg_.api_addr;
  }
  stepped_up_ = true;
  const std::uint64_t term = ++term_;
  active_ = true;
  blocking_.post("startup", blocking_executor::task([this, term](bool run) {
    if (run) restore_in_background(term);
  }));
}

void node::inherit_earlier_boots() {
  auto earlier = record_active_boot(barrier_, plugin::boot_id());
  if (!earlier) {
    spdlog::error("the boot ids of the processes active before this one could not be read or recorded ({}); "
                  "revocations of their leases do not end their database sessions first",
                  earlier.err().message);
    engines_.set_earlier_boots({});
    return;
  }
  engines_.set_earlier_boots(std::move(*earlier));
}

void node::restore_in_background(std::uint64_t term) {
  if (term_.load() != term) return;  // stepped down since
  if (loop_) leases_.unload();       // a former term's due times are stale: storage is the truth
  // Rotations cut by a crash first (revocations need a working root login), then the schedule.
  if (mounts_ != nullptr) mounts_->recover_rotations();
  rotations_.start();
  const auto started = std::chrono::steady_clock::now();
  auto report = leases_.restore();
  if (!report) {
    spdlog::error("lease restore failed: {}", report.err().message);
    return;
  }
  for (const auto& id : report->unreadable) {
    spdlog::error("lease {} could not be restored: its record is unreadable; it is kept", id);
  }
  spdlog::info("restored {} leases in {:.3f}s", report->restored,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (term_.load() != term) return;
  if (mounts_ != nullptr) mounts_->resolve_pending();
  usage_.refresh();  // the first census of leases and rotations for the metrics
}

void node::step_down(const std::string& why) {
  std::lock_guard lock(transition_mu_);
  active_ = false;
  if (!stepped_up_) return;
  stepped_up_ = false;
  ++term_;
  if (loop_) spdlog::warn("HA: this node steps down to standby: {}", why);
  if (mounts_ != nullptr) mounts_->unload();
  audit_devices_.unload();
  if (loop_) {
    rotations_.stop();
    leases_.unload();
    tokens_.clear_cache();
    policies_.clear_cache();
    std::lock_guard seen(leader_mu_);
    active_time_.clear();
    leader_address_.clear();
  }
}

void node::lost(const std::string& why) {
  active_ = false;  // at once: no more timers, revocations or served requests here
  {
    std::lock_guard lock(leader_mu_);
    lost_why_ = why;
    leader_address_.clear();
  }
  if (loop_) loop_->wake();
}

void node::settle() {
  bool down = false;
  {
    std::lock_guard lock(transition_mu_);
    down = stepped_up_ && !active_.load();
  }
  if (!down) return;
  std::string why;
  {
    std::lock_guard lock(leader_mu_);
    why = lost_why_.empty() ? "the leadership was released" : lost_why_;
  }
  step_down(why);
}

void node::leader_seen(const std::optional<ha::leader_info>& seen) {
  std::lock_guard lock(leader_mu_);
  if (active_.load()) return;
  leader_address_ = seen && seen->active ? seen->api_addr : std::string();
}

bool node::acting() {
  if (leadership_) leadership_->check();  // a resumed node notices here, before it acts
  return active_.load();
}

seal_snapshot node::status() const {
  seal_snapshot s = seal_.status();
  s.standby = loop_ && s.initialized && !s.sealed && !active_.load();
  return s;
}

ha_snapshot node::ha() const {
  ha_snapshot h;
  if (!loop_) return h;
  h.enabled = true;
  h.active = active_.load();
  std::lock_guard lock(leader_mu_);
  h.leader_address = leader_address_;
  if (h.active) {
    h.leader_cluster_address = cfg_.cluster_addr;
    h.active_time = active_time_;
  }
  return h;
}

}  // namespace credbroker::node
