#pragma once
// postgresql_leadership: one active node at a time among brokers sharing a PostgreSQL store, an
// epoch (fencing token) that grows at every takeover, fenced writes, a "lost" signal, and the
// active's address for standbys. No HTTP, no node: the node (issue 18) calls step() and reacts to
// on_acquired / on_lost.
//
// Design. The issue offers two mechanisms; each fails one way on its own:
//   - an advisory lock on a dedicated session: released by the server the moment the session ends
//     (holder crashed, SIGKILL, pg_terminate_backend, network reset), so a standby waiting in
//     pg_advisory_lock() takes over in milliseconds; but a PAUSED holder (SIGSTOP, a VM freeze)
//     keeps its TCP session - the kernel still answers keepalives - and so the lock, forever.
//   - a lock row with a TTL renewed by the holder: a paused holder's row expires, but a crashed
//     holder is only replaced after the whole TTL (takeover >= TTL; a short TTL fails healthy
//     leaders under load), and expiry compares clocks.
// We take the advisory lock and give it the TTL: the lock session runs with
// idle_session_timeout = ttl (and idle_in_transaction_session_timeout = ttl), so the SERVER ends a
// holder's session that sent nothing for ttl - paused, starved or partitioned - and the lock goes
// with it. A crash releases at once; a pause releases after ttl; only the server's clock counts.
// The holder sends a heartbeat after ttl/3 of idleness and believes it leads only until
// local_deadline says so (the last confirmed statement + ttl - margin); past that it steps down
// by itself.
//
// Fencing: the epoch lives in the row <ha_table>(name = <table>) = (epoch, holder, api_addr,
// lock_pid, acquired_at); whoever gets the advisory lock bumps it in one statement before it calls
// itself leader. The storage backend sends every write of the leader through the lock session
// itself, and each batch is a single statement that writes only if that row still has our epoch
// and lock_pid = pg_backend_pid() (postgresql_backend.hpp). So a batch runs either while our
// session holds the lock (nobody else can lead: PostgreSQL grants it to one session) or not at all:
//   - session dropped (killed, network, server restart): the batch fails on the dead session, the
//     lock is free, the next holder bumps the epoch before its first write;
//   - paused and resumed after a takeover: the server ended the session during the pause; the
//     resumed batch fails on it (and a silently reconnected session would have another pid and no
//     row of its own: libpqxx's reconnection is switched off anyway);
//   - paused in the middle of a write: a statement the server received runs to its end while the
//     session still holds the lock, i.e. before anyone can take over; one not fully received is
//     never executed (the idle timeout covers a half-sent message).
// Hence: no write of a former holder lands after the new holder's first write.
//
// Protocol (step(), called in a loop by the node; blocking):
//   standby 1. open the lock session (settings above, lock_timeout = acquire_wait)
//           2. SELECT pg_advisory_lock(<crbd>, hash(<ha_table>, <table>))  - waits up to
//              acquire_wait; lock_not_available -> still standby, return
//           3. INSERT ... ON CONFLICT (name) DO UPDATE SET epoch = epoch + 1, holder, api_addr,
//              lock_pid = pg_backend_pid() RETURNING epoch        - crash here: lock freed, no epoch
//           4. attach the session to the backend as its fenced writer; on_acquired(epoch)
//   leader  5. heartbeat when idle for ttl/3: SELECT ... WHERE name, epoch, lock_pid match
//           6. failure, a fenced batch, or local_deadline expired -> lose: detach the writer,
//              on_lost(epoch, why), close the session at the next step() -> standby
// release() steps down on purpose (unlock and close at once).
//
// Thread: all methods may be called from any thread; step() and release() block on the database,
// check(), is_leader(), epoch() never do. Callbacks run on the thread that noticed (a step(), a
// check(), or the storage commit that was fenced), with no lock held. Lock order: mu_ only; the
// session's own mutex is never taken while holding mu_.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "broker/ha/local_deadline.hpp"
#include "broker/storage/postgresql_backend.hpp"

namespace credbroker::ha {

struct leadership_options {
  std::string node_id;   // unique per node; empty: a random one
  std::string api_addr;  // what standbys read (sys/leader, forwarding)
  std::chrono::milliseconds ttl{10000};          // the server ends a silent holder's session after this
  std::chrono::milliseconds acquire_wait{1000};  // how long one standby step() waits for the lock
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

// The leadership as recorded in the database, for standbys.
struct leader_info {
  std::uint64_t epoch = 0;
  std::string node_id;
  std::string api_addr;
  bool active = false;  // its session still holds the lock (false: it is gone and nobody took over yet)
};

class postgresql_leadership {
 public:
  // Creates the HA table if missing (idempotent, safe when nodes start at once). The backend must be
  // in HA mode and outlive this object.
  static result<std::unique_ptr<postgresql_leadership>> open(storage::postgresql_backend& backend,
                                                             leadership_options options);
  ~postgresql_leadership();  // release()

  // One round (see the protocol above). Errors: the database could not be reached (still standby).
  status step();
  // Steps down if the local deadline has passed. Never blocks.
  void check();
  // Steps down on purpose: unlocks and closes the lock session.
  void release();

  bool is_leader() const;
  std::uint64_t epoch() const;  // of the current or last term; 0 before the first
  const std::string& node_id() const { return options_.node_id; }
  // How often step() should run at least (a leader's heartbeat needs it every ttl/3).
  std::chrono::milliseconds step_interval() const { return options_.ttl / 6; }

  void on_acquired(std::function<void(std::uint64_t epoch)> f);
  void on_lost(std::function<void(std::uint64_t epoch, const std::string& why)> f);

  // Who leads, from the database (nullopt: nobody ever did). Uses a session of its own.
  result<std::optional<leader_info>> leader();

 private:
  postgresql_leadership(storage::postgresql_backend& backend, leadership_options options);
  status create_table();
  status acquire();
  void heartbeat();
  // Ends the term `epoch` (if it is still the current one): detaches the writer, calls on_lost.
  void lose(std::uint64_t epoch, const std::string& why);
  // Closes a lock session no term uses any more (requires mu_ not held).
  void discard_lingering();

  storage::postgresql_backend& backend_;
  const leadership_options options_;
  int lock_key_ = 0;  // second key of the advisory lock

  mutable std::mutex mu_;  // guards the fields below
  std::shared_ptr<storage::postgresql_session> session_;  // the lock session (standby or leader)
  bool leader_ = false;
  bool lingering_ = false;  // session_ led a term that ended: close it at the next step()
  std::uint64_t epoch_ = 0;
  local_deadline deadline_;
  std::function<void(std::uint64_t)> on_acquired_;
  std::function<void(std::uint64_t, const std::string&)> on_lost_;
  std::unique_ptr<storage::postgresql_session> info_;  // leader() reads; guarded by info_mu_
  std::mutex info_mu_;
};

}  // namespace credbroker::ha
