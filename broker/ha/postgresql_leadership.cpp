#include "broker/ha/postgresql_leadership.hpp"

#include <spdlog/spdlog.h>

#include "broker/core/random.hpp"

namespace credbroker::ha {
namespace {

// FNV-1a, 31 bits: the same lock key on every node for the same pair of tables.
int lock_key_of(const std::string& ha_table, const std::string& table) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : ha_table + "\n" + table) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int>(h & 0x7fffffffu);
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()); }

}  // namespace

postgresql_leadership::postgresql_leadership(storage::postgresql_backend& backend, leadership_options options)
    : backend_(backend), options_(std::move(options)), deadline_(options_.ttl) {}

result<std::unique_ptr<postgresql_leadership>> postgresql_leadership::open(storage::postgresql_backend& backend,
                                                                           leadership_options options) {
  if (!backend.options().ha_enabled) {
    return make_error(errc::invalid_request, "the leadership needs a postgresql storage with ha_enabled");
  }
  if (options.ttl < std::chrono::milliseconds(500) || options.acquire_wait < std::chrono::milliseconds(1)) {
    return make_error(errc::invalid_request, "the leadership's ttl must be at least 500ms and acquire_wait positive");
  }
  if (options.node_id.empty()) options.node_id = random_alnum(16);
  std::unique_ptr<postgresql_leadership> l(new postgresql_leadership(backend, std::move(options)));
  l->lock_key_ = lock_key_of(backend.options().ha_table, backend.options().table);
  if (auto s = l->create_table(); !s) return std::move(s).err();
  return l;
}

postgresql_leadership::~postgresql_leadership() { release(); }

status postgresql_leadership::create_table() {
  auto s = storage::postgresql_session::open(backend_.target(), "HA schema");
  if (!s) return std::move(s).err();
  std::lock_guard lock((*s)->mu());
  return storage::create_table_once(**s, backend_.quoted_ha_table(),
                                    "name text PRIMARY KEY, epoch bigint NOT NULL, holder text NOT NULL, "
                                    "api_addr text NOT NULL, lock_pid integer NOT NULL, acquired_at timestamptz NOT NULL",
                                    "cannot prepare the HA table " + backend_.options().ha_table);
}

bool postgresql_leadership::is_leader() const {
  std::lock_guard lock(mu_);
  return leader_;
}

std::uint64_t postgresql_leadership::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

void postgresql_leadership::on_acquired(std::function<void(std::uint64_t)> f) {
  std::lock_guard lock(mu_);
  on_acquired_ = std::move(f);
}

void postgresql_leadership::on_lost(std::function<void(std::uint64_t, const std::string&)> f) {
  std::lock_guard lock(mu_);
  on_lost_ = std::move(f);
}

status postgresql_leadership::step() {
  check();
  discard_lingering();
  bool leading = false;
  {
    std::lock_guard lock(mu_);
    leading = leader_;
  }
  if (leading) {
    heartbeat();
    return ok_v;
  }
  return acquire();
}

void postgresql_leadership::check() {
  std::uint64_t e = 0;
  {
    std::lock_guard lock(mu_);
    if (!leader_) return;
    deadline_.confirmed(session_->last_confirmed());
    if (!deadline_.expired(options_.now())) return;
    e = epoch_;
  }
  lose(e, "no statement on the lock session was confirmed within the ttl (paused, starved or cut off from the "
          "database): another node may lead already");
}

status postgresql_leadership::acquire() {
  std::shared_ptr<storage::postgresql_session> s;
  {
    std::lock_guard lock(mu_);
    s = session_;
  }
  if (!s || s->broken()) {
    auto opened = storage::postgresql_session::open(
        backend_.target(), "HA lock",
        {{"statement_timeout", "60s"},
         {"idle_session_timeout", millis(options_.ttl)},
         {"idle_in_transaction_session_timeout", millis(options_.ttl)},
         {"lock_timeout", millis(options_.acquire_wait)}});
    if (!opened) return std::move(opened).err();
    s = std::move(*opened);
    std::lock_guard lock(mu_);
    session_ = s;
  }
  const std::string& table = backend_.options().table;
  std::unique_lock session_lock(s->mu());
  auto got = s->run("cannot take the HA lock", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    try {
      tx.exec_params("SELECT pg_advisory_lock($1, $2)", storage::postgresql_lock_class, lock_key_);
      return true;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() == "55P03") return false;  // lock_timeout: another node leads
      throw;
    }
  });
  if (!got) return std::move(got).err();
  if (!*got) return ok_v;
  const auto sent = options_.now();
  auto epoch = s->run("cannot record the HA epoch", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT set_config('lock_timeout', '0', false)");
    const std::string h = backend_.quoted_ha_table();
    auto r = tx.exec_params("INSERT INTO " + h +
                                " AS h (name, epoch, holder, api_addr, lock_pid, acquired_at)"
                                " VALUES ($1, 1, $2, $3, pg_backend_pid(), now()) ON CONFLICT (name) DO UPDATE SET"
                                " epoch = h.epoch + 1, holder = EXCLUDED.holder, api_addr = EXCLUDED.api_addr,"
                                " lock_pid = EXCLUDED.lock_pid, acquired_at = EXCLUDED.acquired_at RETURNING epoch",
                            table, options_.node_id, options_.api_addr);
    return r[0][0].as<std::int64_t>();
  });
  if (!epoch) {
    s->close();  // whatever happened, the lock goes with the session
    return std::move(epoch).err();
  }
  session_lock.unlock();
  const auto e = static_cast<std::uint64_t>(*epoch);
  std::function<void(std::uint64_t)> cb;
  {
    std::lock_guard lock(mu_);
    leader_ = true;
    epoch_ = e;
    deadline_.acquired(sent);
    cb = on_acquired_;
  }
  backend_.attach_writer(s, e, [this, e](const std::string& why) { lose(e, why); });
  spdlog::info("HA: this node ({}) leads, epoch {}", options_.node_id, e);
  if (cb) cb(e);
  return ok_v;
}

void postgresql_leadership::heartbeat() {
  std::shared_ptr<storage::postgresql_session> s;
  std::uint64_t e = 0;
  {
    std::lock_guard lock(mu_);
    if (!leader_) return;
    deadline_.confirmed(session_->last_confirmed());
    if (!deadline_.heartbeat_due(options_.now())) return;
    s = session_;
    e = epoch_;
  }
  auto r = [&] {
    std::lock_guard lock(s->mu());
    return s->run("HA heartbeat failed", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return !tx.exec_params("SELECT 1 FROM " + backend_.quoted_ha_table() +
                                 " WHERE name = $1 AND epoch = $2 AND lock_pid = pg_backend_pid()",
                             backend_.options().table, static_cast<std::int64_t>(e))
                  .empty();
    });
  }();
  if (!r) {
    lose(e, r.err().message);
  } else if (!*r) {
    lose(e, "fenced: the HA row no longer carries epoch " + std::to_string(e) + " of this session");
  }
}

void postgresql_leadership::lose(std::uint64_t e, const std::string& why) {
  std::function<void(std::uint64_t, const std::string&)> cb;
  {
    std::lock_guard lock(mu_);
    if (!leader_ || epoch_ != e) return;  // this term has ended already
    leader_ = false;
    lingering_ = true;
    deadline_.lost();
    cb = on_lost_;
  }
  backend_.detach_writer();
  spdlog::warn("HA: this node ({}) lost the leadership of epoch {}: {}", options_.node_id, e, why);
  if (cb) cb(e, why);
}

void postgresql_leadership::discard_lingering() {
  std::shared_ptr<storage::postgresql_session> s;
  {
    std::lock_guard lock(mu_);
    // A standby's session is kept between steps; one that led is closed (its lock goes with it).
    if (leader_ || !lingering_) return;
    s = std::move(session_);
    lingering_ = false;
  }
  if (!s) return;
  std::lock_guard lock(s->mu());
  s->close();
}

void postgresql_leadership::release() {
  std::shared_ptr<storage::postgresql_session> s;
  bool was = false;
  std::uint64_t e = 0;
  std::function<void(std::uint64_t, const std::string&)> cb;
  {
    std::lock_guard lock(mu_);
    s = std::move(session_);
    was = leader_;
    e = epoch_;
    leader_ = false;
    lingering_ = false;
    deadline_.lost();
    cb = on_lost_;
  }
  if (was) backend_.detach_writer();
  if (s) {
    std::lock_guard lock(s->mu());
    if (!s->broken()) {
      (void)s->run("HA unlock", [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SELECT pg_advisory_unlock_all()");
        return true;
      });
    }
    s->close();
  }
  if (was) {
    spdlog::info("HA: this node ({}) released the leadership of epoch {}", options_.node_id, e);
    if (cb) cb(e, "released");
  }
}

result<std::optional<leader_info>> postgresql_leadership::leader() {
  std::lock_guard lock(info_mu_);
  if (!info_ || info_->broken()) {
    auto s = storage::postgresql_session::open(backend_.target(), "HA status", {{"statement_timeout", "10s"}});
    if (!s) return std::move(s).err();
    info_ = std::move(*s);
  }
  std::lock_guard session_lock(info_->mu());
  return info_->run("cannot read the HA leader", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto rows = tx.exec_params(
        "SELECT h.epoch, h.holder, h.api_addr, EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"
        " AND l.pid = h.lock_pid AND l.classid = $2::oid AND l.objid = $3::oid AND l.objsubid = 2 AND l.granted)"
        " FROM " + backend_.quoted_ha_table() + " h WHERE h.name = $1",
        backend_.options().table, storage::postgresql_lock_class, lock_key_);
    if (rows.empty()) return std::optional<leader_info>{};
    leader_info i;
    i.epoch = rows[0][0].as<std::uint64_t>();
    i.node_id = rows[0][1].as<std::string>();
    i.api_addr = rows[0][2].as<std::string>();
    i.active = rows[0][3].as<bool>();
    return std::optional<leader_info>{std::move(i)};
  });
}

}  // namespace credbroker::ha
