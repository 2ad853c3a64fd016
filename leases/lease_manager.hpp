#pragma once
// lease_manager: durable leases, renew with Vault's TTL maths, revoke, and revocation on expiry with
// retries that never give up silently.
//
// Durability: every change is written to storage (through the barrier) before the call returns;
// memory holds only an index (lease id -> slot -> scheduler entry) rebuilt by restore().
//
// Expiry: every lease is an entry of the shared scheduler (broker/core/scheduler.hpp, 100 ms ticks)
// whose payload is the lease's slot here, due at the first tick at or after its expire_time (never
// early). Due entries reach on_due() on the scheduler's strand, which only releases their slots and
// hands the ids to the blocking executor, in two steps:
//   1. key "storage|leases" (cap 2): chunks of 256 records are read to learn each lease's connection
//   2. key revoker.connection_key(lease) — "<mount>|<connection>", capped like every call to that
//      connection — one task per lease runs attempt_revoke(), which completes on its own:
//   revoker.revoke ok      -> the record is deleted
//   revoker.revoke fails   -> state revoking, attempts+1, last_error kept, retried after
//                             min(cap, base * 2^(attempts-1)) with +-25 % jitter (a new entry)
//   attempts == max        -> state irrevocable: still listed (irrevocable()), retried every
//                             irrevocable_retry, never dropped
// Nothing waits for a batch: a hung database holds its own connection's slots, and every other
// connection's expiries, and its own later ones once a slot frees, go on.
// revoke(), revoke_prefix() and renew() run through the executor too (a task on the lease's
// connection key, which takes the lease's lock) and wait for it; on an executor thread, inline. A
// lease's lock is never held while waiting for the executor, so a connection with one slot cannot
// deadlock a renew against a revocation of the same lease.
// revoke_force() asks the database as revoke does, but forgets the leases whatever it answers
// (Vault's revoke-force: backend errors are ignored).
//
// Inherited leases. A revocation is two steps, the database's and then the record's deletion; a
// process killed or paused (HA: SIGSTOP, then another node took over) between them, or with its
// revocation transaction still open in the database, leaves a record whose user is gone or going.
// So every attempt tells the revoker whether the lease is inherited: issued before this process's
// current term began (begin_term(), at each step-up) plus inherited_margin for the clocks of other
// nodes. The engine then ends the earlier processes' database sessions and asks user_exists before
// it runs the revocation statements again (engine/issuance.hpp): each expired lease is revoked once.
//   term began 12:00:00  lease issued 11:59:30 -> inherited   lease issued 12:00:30 -> inherited
//                        lease issued 12:01:30 -> this term's own (no other process knew it)
//
// Thread: all methods are safe concurrently. Lock order (docs/architecture.md):
//   a lease's own lock (lease_locks; renew, revocation and expire_now of one lease take turns, held
//   across that lease's database call and storage write)
//     -> mu_ (the index, pending_ and in_flight_: held for O(1) per lease, never across I/O)
//       -> the scheduler's wheel lock
// on_due() runs under the scheduler's dispatch lock and takes mu_. Database calls and storage I/O
// never run under mu_.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "broker/core/blocking_executor.hpp"
#include "broker/core/clock.hpp"
#include "broker/core/in_flight.hpp"
#include "broker/core/scheduler.hpp"
#include "broker/storage/physical.hpp"
#include "leases/lease.hpp"
#include "leases/lease_locks.hpp"
#include "leases/ttl.hpp"

namespace credbroker::leases {

// What the manager asks of the database side. Implemented by the engine (and by fakes in tests).
class revoker {
 public:
  virtual ~revoker() = default;
  // Removes the user. Must succeed when the user is already gone (idempotent).
  virtual status revoke(const lease& l) = 0;
  // Moves the user's database-side expiry (PostgreSQL VALID UNTIL) to new_expire.
  virtual status renew(const lease& l, time_point new_expire) = 0;
  // The blocking_executor key of the lease's database connection: "<mount>|<connection>", the mount
  // being the lease id before "creds/<role>/<suffix>" ("database/creds/app/X", "pg" -> "database/|pg").
  virtual std::string connection_key(const lease& l) const;
};

struct manager_options {
  ttl_limits limits;
  int max_attempts = 6;
  std::chrono::seconds backoff_base{10};
  std::chrono::seconds backoff_cap{std::chrono::minutes(10)};
  std::chrono::seconds irrevocable_retry{std::chrono::hours(1)};
  bool jitter = true;
  // How many revocations run at once per connection is the executor's cap for the connection's key
  // (blocking_executor::set_cap, or its default_cap: server config lease_revocation.per_connection).
  // The folder under sys/expire/token/ that holds the leases of a token accessor. The server passes
  // the token store's accessor_key() so no accessor is a storage key in clear; empty: the accessor.
  std::function<result<std::string>(const std::string& accessor)> token_index_key;
  // HA (node/node.hpp): asked before each revocation's database call and before activate(); false
  // (this node is no longer the active one) ends a revocation attempt with errc::unavailable,
  // leaving the lease to the active node, and fails an activation, so the issuer deletes the user it
  // created. Why that suffices for activate(): the node answers true only before its local deadline,
  // i.e. before any other node can lead; the user exists by then, so if the lazy write below is lost
  // to the takeover, the new active finds the pending lease and its user, and keeps both. Empty: always.
  std::function<bool()> acting;
  // How far ahead of this node's clock another node's may run (the issue times it wrote).
  std::chrono::seconds inherited_margin{60};
};

struct restore_report {
  std::size_t restored = 0;              // records scheduled from storage
  std::vector<std::string> unreadable;   // kept in storage, reported, never a reason to refuse to start
};

struct renew_result {
  lease l;
  std::chrono::seconds ttl{0};
  std::vector<std::string> warnings;
};

class lease_manager {
 public:
  lease_manager(storage::physical& store, revoker& r, const clock& c, scheduler& s, blocking_executor& e,
                manager_options o = {});
  lease_manager(const lease_manager&) = delete;
  lease_manager& operator=(const lease_manager&) = delete;
  // Leaves the scheduler and waits for its tasks on the executor (queued ones run, unless the
  // executor was stopped first, which cancels them).
  ~lease_manager();

  // Stores the lease durably (state as given) and schedules its expiry. A pending lease is an
  // issuance in flight until activate() or forget(): a revocation that reaches it meanwhile (revoke,
  // a prefix, its token, its expiry) cannot drop a user that is still being created, so it is
  // recorded and handed to the issuer, whose activate() then answers false.
  status add(lease l);
  // pending -> active once the database user exists. The write is lazy (apply_lazy): if it is lost
  // in a crash the lease stays pending and start-up settles it with user_exists. Returns false when
  // the lease was revoked (or force-revoked) while the user was being created: the caller must delete
  // the user, then forget() the lease.
  result<bool> activate(const lease& l);
  // An issuance whose outcome is unknown (the database could not even be asked): the lease becomes
  // an ordinary pending lease, revoked at its expiry, or now if a revocation came meanwhile.
  void release(const std::string& id);
  result<lease> lookup(const std::string& id) const;
  // One level below prefix, as storage lists it ("database/creds/" -> ["app/"]).
  result<std::vector<std::string>> list(const std::string& prefix) const;
  // Vault's renew: errors "lease not found", "lease is not renewable", "lease expired",
  // "lease is expired and has failed previous revocation attempts", "past the max TTL, cannot renew".
  result<renew_result> renew(const std::string& id, std::chrono::seconds increment);
  // Revokes now. An unknown id is a success (Vault: revoke is idempotent).
  status revoke(const std::string& id);
  // Revokes every lease under prefix: one executor task per lease on its connection's key (so within
  // that connection's cap), waited for; the first failure is returned after trying all.
  status revoke_prefix(const std::string& prefix);
  // Revokes every lease under prefix as revoke_prefix does, but forgets each lease even when the
  // database refuses or cannot be reached (Vault's revoke-force: for a database that is gone). An
  // issuance in flight is handed to its issuer, as for any revocation.
  status revoke_force(const std::string& prefix);
  // Vault's sync=false: makes the lease(s) due now; the scheduler hands them to revocation shortly.
  status expire_now(const std::string& id);
  status expire_prefix_now(const std::string& prefix);
  // A token was revoked: every lease it created becomes due now (revoked through the scheduler with
  // the usual retries). Uses the sys/expire/token/<accessor>/ index written by add().
  status expire_by_token(const std::string& accessor);
  // A term as the active node begins now (node::step_up, before it serves): leases issued before it
  // (see "Inherited leases") are revoked as inherited. Before the first call none is.
  void begin_term();
  // Rebuilds the index from storage. Unreadable records are reported in the result and kept.
  // Safe while requests run: leases they scheduled meanwhile keep their (fresher) due times.
  result<restore_report> restore();
  // Empties the index (every scheduler entry cancelled) and the restored pending list; storage is
  // untouched and issuances in flight stay marked. A node that stepped down (HA) holds no stale due
  // times: its next restore() starts from storage.
  void unload();
  // The leases restore() found pending (the broker stopped between writing them and creating or
  // confirming their users): the engine resolves them with user_exists. Empties the list. Leases
  // this process added as pending and has not yet activated or removed (issuance in flight) are
  // never in it.
  std::vector<std::string> take_pending();
  // Removes one lease record without calling the database (issuance rolled back).
  status forget(const std::string& id);
  // pending -> active for a lease left pending by an earlier run, durably (start-up settlement); its
  // boot is cleared. errc::lease_not_found when a revocation removed it meanwhile.
  status activate_stored(const std::string& id);

  std::vector<lease> irrevocable() const;
  // Every readable lease under prefix (a path, as for revoke_prefix), decoded: for reconciliation.
  status for_each(const std::string& prefix, const std::function<void(const lease&)>& visit) const;
  std::size_t count() const;

 private:
  // The index holds each lease id once: slots_[n] is the id of slot n (the scheduler entry's
  // payload), timers_[n] its entry; index_ is a set of slot numbers hashed and compared through
  // slots_, looked up by id (heterogeneous lookup) — 4 bytes per entry where a map would hold the id
  // a second time.
  struct slot_hash {
    using is_transparent = void;
    const std::vector<std::string>* slots;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
    std::size_t operator()(std::uint32_t n) const { return (*this)(std::string_view((*slots)[n])); }
  };
  struct slot_eq {
    using is_transparent = void;
    const std::vector<std::string>* slots;
    bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
    bool operator()(std::string_view id, std::uint32_t n) const { return id == (*slots)[n]; }
    bool operator()(std::uint32_t n, std::string_view id) const { return id == (*slots)[n]; }
  };
  using index_set = std::unordered_set<std::uint32_t, slot_hash, slot_eq>;
  static constexpr std::size_t load_chunk = 256;  // records read per step-1 task
  result<std::string> token_index_dir(const std::string& accessor) const;  // "sys/expire/token/<key>/"
  result<lease> load(const std::string& id) const;
  status store(const lease& l);
  void schedule_locked(const std::string& id, time_point due);
  void unschedule_locked(const std::string& id);
  void release_slot_locked(index_set::iterator it);
  // Due entries from the scheduler (its strand: must not block).
  void on_due(std::span<const scheduler::fired> due);
  // Step 1 on the executor: read each record for its connection, queue its revocation (step 2).
  void queue_revocations(const std::vector<std::string>& ids);
  // Runs f on the executor under key, counted in tasks_ (f captures this).
  template <class F>
  void post_counted(std::string_view key, F f);
  // renew() once on the executor: under the lease's lock.
  result<renew_result> renew_now(const std::string& id, std::chrono::seconds increment);
  // One revocation attempt of the lease as stored now; records failures and schedules the retry.
  // force: the record is removed even when the revoker fails.
  status attempt_revoke(const std::string& id, bool force = false);
  // Marks an in-flight issuance as revoked; true if it was one (the issuer finishes the revocation).
  bool defer_if_in_flight(const std::string& id);
  // Revokes the given leases through the executor and waits; the first failure after all ran.
  status revoke_all(const std::vector<std::string>& ids, bool force);
  std::chrono::seconds backoff(int attempts);
  // Leases issued before this are inherited (begin_term).
  time_point own_since() const;
  result<std::vector<std::string>> ids_under(const std::string& prefix) const;

  storage::physical& store_;
  revoker& revoker_;
  const clock& clock_;
  scheduler& sched_;
  blocking_executor& exec_;
  manager_options opts_;
  scheduler::client client_ = 0;
  lease_locks locks_;
  mutable std::mutex mu_;
  std::vector<std::string> slots_;            // guarded by mu_: slot -> lease id ("" when free)
  std::vector<scheduler::timer> timers_;      // guarded by mu_: slot -> its scheduler entry
  std::vector<std::uint32_t> free_slots_;     // guarded by mu_
  index_set index_{0, slot_hash{&slots_}, slot_eq{&slots_}};  // guarded by mu_
  std::vector<std::string> pending_;          // guarded by mu_
  // Pending leases added by this process and not yet settled -> whether a revocation came meanwhile.
  std::unordered_map<std::string, bool> in_flight_;  // guarded by mu_
  in_flight tasks_;  // this manager's tasks on the executor
  // Leases issued before it are inherited (begin_term; the earliest time: none begun, none inherited).
  std::atomic<time_point::rep> own_since_{time_point::min().time_since_epoch().count()};
};

}  // namespace credbroker::leases
