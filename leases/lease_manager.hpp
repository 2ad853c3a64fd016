#pragma once
// lease_manager: durable leases, renew with Vault's TTL maths, revoke, and revocation on expiry with
// retries that never give up silently.
//
// Durability: every change is written to storage (through the barrier) before the call returns;
// memory holds only an index (lease id -> timer handle) rebuilt by restore().
//
// Expiry: leases sit in a timer_wheel with 100 ms ticks; a lease is due at the first tick at or after
// its expire_time (never early). run_due() revokes what is due:
//   revoker.revoke ok      -> the record is deleted
//   revoker.revoke fails   -> state revoking, attempts+1, last_error kept, retried after
//                             min(cap, base * 2^(attempts-1)) with +-25 % jitter
//   attempts == max        -> state irrevocable: still listed (irrevocable()), retried every
//                             irrevocable_retry, never dropped
// revoke_force() asks the database as revoke does, but forgets the leases whatever it answers
// (Vault's revoke-force: backend errors are ignored).
//
// Thread: all methods are safe concurrently. Calls to the revoker happen outside the manager's lock.
// (This is the core; the HTTP endpoints, start-up while serving, and the per-connection revocation
// queue build on it.)
#include <array>
#include <condition_variable>
#include <functional>
#include <thread>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "broker/core/clock.hpp"
#include "broker/storage/physical.hpp"
#include "leases/lease.hpp"
#include "leases/timer_wheel.hpp"
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
};

struct manager_options {
  ttl_limits limits;
  int max_attempts = 6;
  std::chrono::seconds backoff_base{10};
  std::chrono::seconds backoff_cap{std::chrono::minutes(10)};
  std::chrono::seconds irrevocable_retry{std::chrono::hours(1)};
  bool jitter = true;
  // Revocations of due leases run concurrently, at most this many at once per connection (a database
  // flooded with DROP ROLE only gets slower), and connections do not wait on each other.
  unsigned per_connection_cap = 4;
  // The folder under sys/expire/token/ that holds the leases of a token accessor. The server passes
  // the token store's accessor_key() so no accessor is a storage key in clear; empty: the accessor.
  std::function<result<std::string>(const std::string& accessor)> token_index_key;
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
  lease_manager(storage::physical& store, revoker& r, const clock& c, manager_options o = {});

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
  // Revokes every lease under prefix, concurrently within the per-connection cap; the first failure
  // is returned after trying all.
  status revoke_prefix(const std::string& prefix);
  // Revokes every lease under prefix as revoke_prefix does, but forgets each lease even when the
  // database refuses or cannot be reached (Vault's revoke-force: for a database that is gone). An
  // issuance in flight is handed to its issuer, as for any revocation.
  status revoke_force(const std::string& prefix);
  // Vault's sync=false: makes the lease(s) due now; the expiry driver revokes them shortly.
  status expire_now(const std::string& id);
  status expire_prefix_now(const std::string& prefix);
  // A token was revoked: every lease it created becomes due now (revoked by the expiry driver with
  // the usual retries). Uses the sys/expire/token/<accessor>/ index written by add().
  status expire_by_token(const std::string& accessor);
  // Called (under the manager's lock: it must only signal) whenever a timer is (re)scheduled, with
  // its due time, so a sleeper can wake only when the new due time is earlier than its plan.
  void on_schedule(std::function<void(time_point)> f) {
    std::lock_guard lock(mu_);
    on_schedule_ = std::move(f);
  }
  // Revokes what is due at the clock's now. Returns how many revocations were attempted.
  std::size_t run_due();
  // Rebuilds the index from storage. Unreadable records are reported in the result and kept.
  // Safe while requests run: leases they scheduled meanwhile keep their (fresher) due times.
  result<restore_report> restore();
  // The leases restore() found pending (the broker stopped between writing them and creating or
  // confirming their users): the engine resolves them with user_exists. Empties the list. Leases
  // this process added as pending and has not yet activated or removed (issuance in flight) are
  // never in it.
  std::vector<std::string> take_pending();
  // Removes one lease record without calling the database (issuance rolled back).
  status forget(const std::string& id);
  // pending -> active for a lease left pending by an earlier run, durably (start-up settlement); its
  // boot is cleared. errc::not_found when a revocation removed it meanwhile.
  status activate_stored(const std::string& id);

  std::vector<lease> irrevocable() const;
  // Every readable lease under prefix (a path, as for revoke_prefix), decoded: for reconciliation.
  status for_each(const std::string& prefix, const std::function<void(const lease&)>& visit) const;
  std::size_t count() const;
  // When run_due has something to do next (for arming a timer); nullopt if nothing is scheduled.
  std::optional<time_point> next_wakeup() const;

 private:
  // The index holds each lease id once: slots_[n] is the id of slot n (the wheel's payload),
  // timers_[n] its timer; index_ is a set of slot numbers hashed and compared through slots_, looked
  // up by id (heterogeneous lookup) — 4 bytes per entry where a map would hold the id a second time.
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
  static constexpr std::int64_t tick_ms = 100;  // wheel resolution
  static std::uint64_t tick_of(time_point t);    // dues: ceil to whole ticks, so never early
  static std::uint64_t floor_tick(time_point t);  // the current time: floor
  result<std::string> token_index_dir(const std::string& accessor) const;  // "sys/expire/token/<key>/"
  result<lease> load(const std::string& id) const;
  status store(const lease& l);
  void schedule_locked(const std::string& id, time_point due);
  void unschedule_locked(const std::string& id);
  // force: the record is removed even when the revoker fails.
  status attempt_revoke(lease l, bool force = false);
  // Marks an in-flight issuance as revoked; true if it was one (the issuer finishes the revocation).
  bool defer_if_in_flight(const std::string& id);
  // Renew, revoke and expire_now of one lease run one at a time (Vault's per-lease lock: a renew
  // racing a revocation must not store the revoked record back). Striped: 256 mutexes.
  std::mutex& stripe(const std::string& id) const;
  status revoke_concurrently(const std::vector<std::string>& ids, bool force);
  std::chrono::seconds backoff(int attempts);
  result<std::vector<std::string>> ids_under(const std::string& prefix) const;

  storage::physical& store_;
  revoker& revoker_;
  const clock& clock_;
  manager_options opts_;
  mutable std::mutex mu_;
  mutable std::array<std::mutex, 256> stripes_;
  timer_wheel wheel_;
  std::vector<std::string> slots_;            // slot -> lease id ("" when free)
  std::vector<timer_wheel::handle> timers_;   // slot -> its timer
  std::vector<std::uint32_t> free_slots_;
  std::unordered_set<std::uint32_t, slot_hash, slot_eq> index_{0, slot_hash{&slots_}, slot_eq{&slots_}};
  void release_slot_locked(std::unordered_set<std::uint32_t, slot_hash, slot_eq>::iterator it);
  std::function<void(time_point)> on_schedule_;
  std::vector<std::string> pending_;
  // Pending leases added by this process and not yet settled -> whether a revocation came meanwhile.
  std::unordered_map<std::string, bool> in_flight_;
};

// expiry_driver: one thread that sleeps until the manager's next wake-up (at most `max_sleep`) and
// runs run_due() while `active()` (unsealed). stop() joins it. Wakes early when a timer is scheduled.
class expiry_driver {
 public:
  expiry_driver(lease_manager& m, const clock& c, std::function<bool()> active,
                std::chrono::milliseconds max_sleep = std::chrono::seconds(1));
  ~expiry_driver();
  void stop();

 private:
  void loop();
  lease_manager& m_;
  const clock& clock_;
  std::function<bool()> active_;
  std::chrono::milliseconds max_sleep_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool poked_ = false;
  // When the loop will wake next; a due time before it wakes the loop early. max() while awake
  // (between two waits every schedule sets poked_, so the next plan sees it).
  time_point planned_ = time_point::max();
  std::thread thread_;
};

}  // namespace credbroker::leases
