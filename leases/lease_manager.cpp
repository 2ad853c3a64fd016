#include "leases/lease_manager.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "broker/core/backoff.hpp"
#include "broker/core/random.hpp"

namespace credbroker::leases {

using std::chrono::seconds;

lease_manager::lease_manager(storage::physical& store, revoker& r, const clock& c, manager_options o)
    : store_(store), revoker_(r), clock_(c), opts_(o), wheel_(floor_tick(c.now())) {}

std::uint64_t lease_manager::floor_tick(time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms <= 0 ? 0 : static_cast<std::uint64_t>(ms / tick_ms);
}

std::uint64_t lease_manager::tick_of(time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  if (ms <= 0) return 0;
  return static_cast<std::uint64_t>((ms + tick_ms - 1) / tick_ms);
}

result<lease> lease_manager::load(const std::string& id) const {
  auto raw = store_.get(lease_storage_prefix + id);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return make_error(errc::not_found, "lease not found");
  return decode(**raw);
}

status lease_manager::store(const lease& l) { return store_.put(lease_storage_prefix + l.id, encode(l)); }

void lease_manager::schedule_locked(const std::string& id, time_point due) {
  if (on_schedule_) on_schedule_(due);
  auto it = index_.find(std::string_view(id));
  if (it != index_.end()) {
    timers_[*it] = wheel_.reschedule(timers_[*it], tick_of(due));
    return;
  }
  std::uint32_t n;
  if (!free_slots_.empty()) {
    n = free_slots_.back();
    free_slots_.pop_back();
    slots_[n] = id;
    timers_[n] = wheel_.schedule(tick_of(due), n);
  } else {
    n = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(id);
    timers_.push_back(wheel_.schedule(tick_of(due), n));
  }
  index_.insert(n);  // after slots_[n] holds the id: the set hashes through it
}

void lease_manager::release_slot_locked(std::unordered_set<std::uint32_t, slot_hash, slot_eq>::iterator it) {
  const std::uint32_t n = *it;
  index_.erase(it);  // before the id goes: the set hashes through it
  slots_[n].clear();
  slots_[n].shrink_to_fit();
  free_slots_.push_back(n);
}

void lease_manager::unschedule_locked(const std::string& id) {
  auto it = index_.find(std::string_view(id));
  if (it == index_.end()) return;
  wheel_.cancel(timers_[*it]);
  release_slot_locked(it);
}

result<std::string> lease_manager::token_index_dir(const std::string& accessor) const {
  if (!opts_.token_index_key) return lease_token_index_prefix + accessor + "/";
  auto key = opts_.token_index_key(accessor);
  if (!key) return std::move(key).err();
  return lease_token_index_prefix + *key + "/";
}

status lease_manager::add(lease l) {
  const bool pending = l.state == lease_state::pending;
  if (pending) {
    // Marked before the record exists, so a concurrent restore() never mistakes it for a crash leftover.
    std::lock_guard lock(mu_);
    in_flight_.emplace(l.id, false);
  }
  status written = ok_v;
  if (l.token_accessor.empty() || l.token_accessor.find('/') != std::string::npos) {
    written = store(l);
  } else if (auto dir = token_index_dir(l.token_accessor); !dir) {
    written = std::move(dir).err();
  } else {
    std::vector<storage::operation> ops;
    ops.push_back(storage::operation::put(lease_storage_prefix + l.id, encode(l)));
    ops.push_back(storage::operation::put(*dir + l.id, ""));
    written = store_.apply(std::move(ops));
  }
  std::lock_guard lock(mu_);
  if (!written) {
    in_flight_.erase(l.id);
    return written;
  }
  schedule_locked(l.id, l.state == lease_state::active || l.state == lease_state::pending ? l.expire_time
                                                                                          : l.next_attempt);
  return ok_v;
}

result<bool> lease_manager::activate(const lease& issued) {
  lease l = issued;
  l.state = lease_state::active;
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put(lease_storage_prefix + l.id, encode(l)));
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(issued.id);
  if (it == in_flight_.end() || it->second) return false;  // revoked or forced meanwhile
  in_flight_.erase(it);
  // Queued under the lock: a revocation that finds the mark gone queues its removal after this.
  store_.apply_lazy(std::move(ops));
  return true;
}

void lease_manager::release(const std::string& id) {
  bool revoke_requested = false;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;
    revoke_requested = it->second;
    in_flight_.erase(it);
  }
  if (revoke_requested) (void)expire_now(id);
}

bool lease_manager::defer_if_in_flight(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return false;
  it->second = true;
  return true;
}

status lease_manager::activate_stored(const std::string& id) {
  std::lock_guard per_lease(stripe(id));  // a revocation that removed it meanwhile is not undone
  auto l = load(id);
  if (!l) return std::move(l).err();
  if (l->state != lease_state::pending) return ok_v;
  l->state = lease_state::active;
  l->boot.clear();  // its user exists: nothing left in doubt
  return store(*l);
}

result<lease> lease_manager::lookup(const std::string& id) const { return load(id); }

result<std::vector<std::string>> lease_manager::list(const std::string& prefix) const {
  return store_.list(lease_storage_prefix + prefix);
}

std::mutex& lease_manager::stripe(const std::string& id) const {
  return stripes_[std::hash<std::string>{}(id) % stripes_.size()];
}

result<renew_result> lease_manager::renew(const std::string& id, seconds increment) {
  std::lock_guard per_lease(stripe(id));  // a revocation running now cannot be undone by our store
  auto l = load(id);
  if (!l) {
    if (l.err().code == make_error_code(errc::not_found)) return make_error(errc::invalid_request, "lease not found");
    return std::move(l).err();
  }
  const time_point now = clock_.now();
  if (l->state == lease_state::irrevocable || l->state == lease_state::revoking) {
    return make_error(errc::invalid_request, "lease is expired and has failed previous revocation attempts");
  }
  if (l->expire_time <= now) return make_error(errc::invalid_request, "lease expired");
  if (!l->renewable) return make_error(errc::invalid_request, "lease is not renewable");
  auto ttl = calculate_ttl(opts_.limits, increment, l->role_ttl, l->role_max_ttl, l->issue_time, now);
  if (!ttl) return std::move(ttl).err();
  const time_point new_expire = std::chrono::floor<seconds>(now) + ttl->ttl;
  if (auto s = revoker_.renew(*l, new_expire); !s) return std::move(s).err();
  l->expire_time = new_expire;
  l->last_renewal = now;
  if (auto s = store(*l); !s) return std::move(s).err();
  {
    std::lock_guard lock(mu_);
    schedule_locked(l->id, new_expire);
  }
  return renew_result{std::move(*l), ttl->ttl, std::move(ttl->warnings)};
}

seconds lease_manager::backoff(int attempts) {
  seconds d = doubling_backoff(opts_.backoff_base, opts_.backoff_cap, attempts);
  if (opts_.jitter && d.count() >= 4) {
    // +-25 %, from the CSPRNG (no shared PRNG state between threads).
    const auto b = random_bytes(2);
    const long span = d.count() / 2;
    const long offset = static_cast<long>((unsigned{b[0]} << 8 | b[1]) % static_cast<unsigned>(span + 1)) - span / 2;
    d += seconds{offset};
  }
  return d;
}

status lease_manager::attempt_revoke(lease l, bool force) {
  if (defer_if_in_flight(l.id)) return ok_v;  // its issuer deletes the user once it exists
  std::lock_guard per_lease(stripe(l.id));
  // Read again under the lease's lock: a renew or another revocation may have changed it.
  auto fresh = load(l.id);
  if (!fresh) return fresh.err().code == make_error_code(errc::not_found) ? status(ok_v) : status(std::move(fresh).err());
  l = std::move(*fresh);
  auto s = revoker_.revoke(l);
  if (s || force) {  // force: the database's answer is ignored (Vault's revoke-force)
    std::vector<storage::operation> ops;
    ops.push_back(storage::operation::remove(lease_storage_prefix + l.id));
    if (!l.token_accessor.empty()) {
      auto dir = token_index_dir(l.token_accessor);
      if (!dir) return std::move(dir).err();
      ops.push_back(storage::operation::remove(*dir + l.id));
    }
    if (auto d = store_.apply(std::move(ops)); !d) return d;
    std::lock_guard lock(mu_);
    unschedule_locked(l.id);
    in_flight_.erase(l.id);
    return ok_v;
  }
  const time_point now = clock_.now();
  l.attempts += 1;
  l.last_error = s.err().message;
  if (l.attempts >= opts_.max_attempts) {
    l.state = lease_state::irrevocable;
    l.next_attempt = now + opts_.irrevocable_retry;
  } else {
    l.state = lease_state::revoking;
    l.next_attempt = now + backoff(l.attempts);
  }
  if (auto w = store(l); !w) return w;
  {
    std::lock_guard lock(mu_);
    schedule_locked(l.id, l.next_attempt);
  }
  return s;
}

status lease_manager::revoke(const std::string& id) {
  auto l = load(id);
  if (!l) {
    if (l.err().code == make_error_code(errc::not_found)) return ok_v;
    return std::move(l).err();
  }
  return attempt_revoke(std::move(*l));
}

result<std::vector<std::string>> lease_manager::ids_under(const std::string& prefix) const {
  // A prefix is a path, as in Vault: the lease with exactly that id, or everything below "prefix/"
  // ("database/creds/app" never reaches "database/creds/app2/...").
  const std::string folder = prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/";
  std::vector<std::string> out;
  auto s = store_.scan(lease_storage_prefix + folder, [&](const std::string& key, std::string_view) {
    out.push_back(key.substr(lease_storage_prefix.size()));
    return true;
  });
  // Damaged records were skipped by the barrier (restore reports them); the readable ones still count.
  if (!s && s.err().code != make_error_code(errc::integrity_failure)) return std::move(s).err();
  if (folder != prefix) {
    auto exact = store_.get(lease_storage_prefix + prefix);
    if (!exact) return std::move(exact).err();
    if (exact->has_value()) out.push_back(prefix);
  }
  return out;
}

status lease_manager::revoke_prefix(const std::string& prefix) {
  auto ids = ids_under(prefix);
  if (!ids) return std::move(ids).err();
  return revoke_concurrently(*ids, false);
}

status lease_manager::revoke_concurrently(const std::vector<std::string>& ids, bool force) {
  // Grouped by connection; each connection gets up to per_connection_cap workers, and connections
  // do not wait for each other. The first failure is returned after every lease was tried.
  std::unordered_map<std::string, std::vector<lease>> by_connection;
  for (const auto& id : ids) {
    auto l = load(id);
    if (!l) continue;  // revoked meanwhile
    by_connection[l->connection].push_back(std::move(*l));
  }
  std::mutex first_mu;
  status first = ok_v;
  std::vector<std::thread> workers;
  std::vector<std::unique_ptr<std::atomic<std::size_t>>> cursors;
  for (auto& [conn, list] : by_connection) {
    cursors.push_back(std::make_unique<std::atomic<std::size_t>>(0));
    auto* cursor = cursors.back().get();
    auto* items = &list;
    const std::size_t n = std::min<std::size_t>(std::max(1u, opts_.per_connection_cap), list.size());
    for (std::size_t w = 0; w < n; ++w) {
      workers.emplace_back([this, cursor, items, force, &first_mu, &first] {
        for (std::size_t i = cursor->fetch_add(1); i < items->size(); i = cursor->fetch_add(1)) {
          if (auto s = attempt_revoke(std::move((*items)[i]), force); !s) {
            std::lock_guard lock(first_mu);
            if (first) first = s;
          }
        }
      });
    }
  }
  for (auto& t : workers) t.join();
  return first;
}

status lease_manager::expire_now(const std::string& id) {
  if (defer_if_in_flight(id)) return ok_v;
  std::lock_guard per_lease(stripe(id));
  auto l = load(id);
  if (!l) return l.err().code == make_error_code(errc::not_found) ? status(ok_v) : status(std::move(l).err());
  const time_point now = clock_.now();
  if (l->expire_time > now) l->expire_time = now;
  if (l->state == lease_state::revoking || l->state == lease_state::irrevocable) l->next_attempt = now;
  if (auto s = store(*l); !s) return s;
  std::lock_guard lock(mu_);
  schedule_locked(l->id, now);
  return ok_v;
}

status lease_manager::expire_by_token(const std::string& accessor) {
  if (accessor.empty() || accessor.find('/') != std::string::npos) return ok_v;
  auto index_dir = token_index_dir(accessor);
  if (!index_dir) return std::move(index_dir).err();
  const std::string dir = std::move(*index_dir);
  std::vector<std::string> ids;
  auto s = store_.scan(dir, [&](const std::string& key, std::string_view) {
    ids.push_back(key.substr(dir.size()));
    return true;
  });
  if (!s) return s;
  for (const auto& id : ids) {
    auto l = load(id);
    if (!l && l.err().code == make_error_code(errc::not_found)) {
      (void)store_.remove(dir + id);  // the lease went another way (revoke-force): drop the stale entry
      continue;
    }
    if (auto e = expire_now(id); !e) return e;
  }
  return ok_v;
}

status lease_manager::expire_prefix_now(const std::string& prefix) {
  auto ids = ids_under(prefix);
  if (!ids) return std::move(ids).err();
  for (const auto& id : *ids) {
    if (auto s = expire_now(id); !s) return s;
  }
  return ok_v;
}

status lease_manager::revoke_force(const std::string& prefix) {
  auto ids = ids_under(prefix);
  if (!ids) return std::move(ids).err();
  return revoke_concurrently(*ids, true);
}

std::size_t lease_manager::run_due() {
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    // Now rounds down, dues round up: an entry fires only once its expire_time has passed.
    wheel_.advance(floor_tick(clock_.now()), [&](std::uint64_t n, std::uint64_t) {
      due.push_back(slots_[n]);
    });
    // Fired entries left the wheel: drop their index slots (a retry reschedules them).
    for (const auto& id : due) {
      if (auto it = index_.find(std::string_view(id)); it != index_.end()) release_slot_locked(it);
    }
  }
  (void)revoke_concurrently(due, false);  // failures are recorded on each lease (retries, irrevocable)
  return due.size();
}

result<restore_report> lease_manager::restore() {
  // One ordered pass over every record; only the header line is read (no JSON parse).
  std::vector<std::string> unreadable;
  std::vector<std::pair<std::string, time_point>> found;
  std::vector<std::string> pending;
  auto s = store_.scan(lease_storage_prefix, [&](const std::string& key, std::string_view value) {
    std::string id = key.substr(lease_storage_prefix.size());
    if (auto h = peek_schedule(value)) {
      if (h->state == lease_state::pending) pending.push_back(id);
      found.emplace_back(std::move(id), h->due);
      return true;
    }
    auto l = decode(value);  // a record without the header
    if (!l) {
      unreadable.push_back(std::move(id));  // kept in storage and reported, never a reason to refuse to start
      return true;
    }
    const bool retrying = l->state == lease_state::revoking || l->state == lease_state::irrevocable;
    found.emplace_back(std::move(id), retrying ? l->next_attempt : l->expire_time);
    return true;
  });
  if (!s && s.err().code != make_error_code(errc::integrity_failure)) return std::move(s).err();
  if (!s) unreadable.push_back("(damaged records: " + s.err().message + ")");
  std::lock_guard lock(mu_);
  index_.reserve(index_.size() + found.size());
  // Restore runs while the API serves: a lease that a request added, renewed or rescheduled since
  // the scan read its record is already in the index with a fresher due time, so it is left alone.
  // (One the scan saw and a request then revoked gets a stale entry: it finds no record when it fires.)
  for (auto& [id, due] : found) {
    if (!index_.contains(std::string_view(id))) schedule_locked(id, due);
  }
  pending_.insert(pending_.end(), pending.begin(), pending.end());
  return restore_report{found.size(), std::move(unreadable)};
}

std::vector<std::string> lease_manager::take_pending() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out = std::exchange(pending_, {});
  // Issuances of this process still running are not leftovers. One that finished since the scan is
  // unmarked only after its record was settled (active or gone), which the caller's lookup sees.
  std::erase_if(out, [this](const std::string& id) { return in_flight_.contains(id); });
  return out;
}

status lease_manager::forget(const std::string& id) {
  auto l = load(id);
  if (!l) return l.err().code == make_error_code(errc::not_found) ? status(ok_v) : status(std::move(l).err());
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(lease_storage_prefix + id));
  if (!l->token_accessor.empty()) {
    auto dir = token_index_dir(l->token_accessor);
    if (!dir) return std::move(dir).err();
    ops.push_back(storage::operation::remove(*dir + id));
  }
  if (auto s = store_.apply(std::move(ops)); !s) return s;
  std::lock_guard lock(mu_);
  unschedule_locked(id);
  in_flight_.erase(id);
  return ok_v;
}

std::vector<lease> lease_manager::irrevocable() const {
  // One scan; only records whose header says irrevocable are parsed.
  std::vector<lease> out;
  (void)store_.scan(lease_storage_prefix, [&](const std::string&, std::string_view value) {
    const auto h = peek_schedule(value);
    if (h && h->state != lease_state::irrevocable) return true;
    if (auto l = decode(value); l && l->state == lease_state::irrevocable) out.push_back(std::move(*l));
    return true;
  });
  return out;
}

status lease_manager::for_each(const std::string& prefix, const std::function<void(const lease&)>& visit) const {
  auto s = store_.scan(lease_storage_prefix + prefix, [&](const std::string&, std::string_view value) {
    if (auto l = decode(value)) visit(*l);
    return true;
  });
  if (!s && s.err().code != make_error_code(errc::integrity_failure)) return s;
  return ok_v;
}

std::size_t lease_manager::count() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

std::optional<time_point> lease_manager::next_wakeup() const {
  std::lock_guard lock(mu_);
  auto t = wheel_.next_wakeup();
  if (!t) return std::nullopt;
  return time_point{std::chrono::milliseconds{static_cast<std::int64_t>(*t) * tick_ms}};
}


expiry_driver::expiry_driver(lease_manager& m, const clock& c, std::function<bool()> active,
                             std::chrono::milliseconds max_sleep)
    : m_(m), clock_(c), active_(std::move(active)), max_sleep_(max_sleep) {
  m_.on_schedule([this](time_point due) {
    // Most leases are due long after the driver's next wake-up: then there is nothing to signal.
    std::lock_guard lock(mu_);
    if (due >= planned_ || poked_) return;
    poked_ = true;
    cv_.notify_one();
  });
  thread_ = std::thread([this] { loop(); });
}

expiry_driver::~expiry_driver() { stop(); }

void expiry_driver::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  m_.on_schedule(nullptr);
}

void expiry_driver::loop() {
  for (;;) {
    std::chrono::milliseconds sleep = max_sleep_;
    if (auto next = m_.next_wakeup()) {
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_.now());
      sleep = std::clamp(until, std::chrono::milliseconds{0}, max_sleep_);
    }
    {
      std::unique_lock lock(mu_);
      if (!poked_) {
        planned_ = clock_.now() + sleep;
        cv_.wait_for(lock, sleep, [this] { return stop_ || poked_; });
      }
      if (stop_) return;
      poked_ = false;
      planned_ = time_point::max();  // awake: whatever is scheduled now makes the next plan look again
    }
    if (active_()) m_.run_due();
  }
}

}  // namespace credbroker::leases
