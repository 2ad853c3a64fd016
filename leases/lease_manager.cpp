#include "leases/lease_manager.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "broker/core/backoff.hpp"
#include "broker/core/crash_point.hpp"
#include "broker/core/random.hpp"

namespace credbroker::leases {

using std::chrono::seconds;

namespace {
const std::string storage_key = "storage|leases";
constexpr unsigned storage_cap = 2;  // record reads in step 1: both cores, no more
}  // namespace

std::string revoker::connection_key(const lease& l) const {
  // "<mount>creds/<role>/<suffix>": the mount is what precedes "creds/<role>/".
  const std::string_view id = l.id;
  std::string_view mount;
  if (const auto last = id.rfind('/'); last != std::string_view::npos && last > 0) {
    if (const auto role = id.rfind('/', last - 1); role != std::string_view::npos) {
      mount = id.substr(0, role + 1);
      if (mount.ends_with("creds/")) mount.remove_suffix(6);
    }
  }
  std::string key(mount);
  key += '|';
  key += l.connection;
  return key;
}

lease_manager::lease_manager(storage::physical& store, revoker& r, const clock& c, scheduler& s, blocking_executor& e,
                             manager_options o)
    : store_(store), revoker_(r), clock_(c), sched_(s), exec_(e), opts_(o) {
  exec_.set_cap(storage_key, storage_cap);
  client_ = sched_.add_client("leases", [this](std::span<const scheduler::fired> due) { on_due(due); });
}

lease_manager::~lease_manager() {
  sched_.remove_client(client_);
  tasks_.wait_none();
  std::lock_guard lock(mu_);
  for (std::size_t n = 0; n < slots_.size(); ++n) {
    if (!slots_[n].empty()) (void)sched_.cancel(timers_[n]);
  }
}

template <class F>
void lease_manager::post_counted(std::string_view key, F f) {
  tasks_.begin();
  exec_.post(key, blocking_executor::task([this, f = std::move(f)](bool run) mutable {
    if (run) f();
    tasks_.end();
  }));
}

result<lease> lease_manager::load(const std::string& id) const {
  auto raw = store_.get(lease_storage_prefix + id);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return make_error(errc::lease_not_found, "lease not found");
  return decode(**raw);
}

status lease_manager::store(const lease& l) { return store_.put(lease_storage_prefix + l.id, encode(l)); }

void lease_manager::schedule_locked(const std::string& id, time_point due) {
  auto it = index_.find(std::string_view(id));
  if (it != index_.end()) {
    timers_[*it] = sched_.reschedule(client_, *it, timers_[*it], due);
    return;
  }
  std::uint32_t n;
  if (!free_slots_.empty()) {
    n = free_slots_.back();
    free_slots_.pop_back();
    slots_[n] = id;
    timers_[n] = sched_.schedule(client_, n, due);
  } else {
    n = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(id);
    timers_.push_back(sched_.schedule(client_, n, due));
  }
  index_.insert(n);  // after slots_[n] holds the id: the set hashes through it
}

void lease_manager::release_slot_locked(index_set::iterator it) {
  const std::uint32_t n = *it;
  index_.erase(it);  // before the id goes: the set hashes through it
  slots_[n].clear();
  slots_[n].shrink_to_fit();
  free_slots_.push_back(n);
}

void lease_manager::unschedule_locked(const std::string& id) {
  auto it = index_.find(std::string_view(id));
  if (it == index_.end()) return;
  (void)sched_.cancel(timers_[*it]);
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
  if (opts_.acting && !opts_.acting()) {
    return make_error(errc::unavailable, "this node lost the leadership while the credentials were being issued");
  }
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(issued.id);
  if (it == in_flight_.end() || it->second) return false;  // revoked or forced meanwhile
  in_flight_.erase(it);
  // Queued under the lock: a revocation that finds the mark gone queues its removal after this.
  store_.apply_lazy(std::move(ops));
  return true;
}

void lease_manager::unload() {
  std::lock_guard lock(mu_);
  for (const std::uint32_t n : index_) (void)sched_.cancel(timers_[n]);
  index_.clear();
  slots_.clear();
  timers_.clear();
  free_slots_.clear();
  pending_.clear();
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
  const auto per_lease = locks_.lock(id);  // a revocation that removed it meanwhile is not undone
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

result<renew_result> lease_manager::renew(const std::string& id, seconds increment) {
  // The whole renew runs as a task of the lease's connection: its lock is taken there, never held
  // while waiting for the executor (a revocation of the same lease holding the connection's last
  // slot would wait for the lock, and the renew for the slot).
  auto stored = load(id);
  if (!stored) return std::move(stored).err();
  return exec_.call(revoker_.connection_key(*stored), [&] { return renew_now(id, increment); });
}

result<renew_result> lease_manager::renew_now(const std::string& id, seconds increment) {
  const auto per_lease = locks_.lock(id);  // a revocation running now cannot be undone by our store
  auto l = load(id);
  if (!l) return std::move(l).err();
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

status lease_manager::attempt_revoke(const std::string& id, bool force) {
  if (defer_if_in_flight(id)) return ok_v;  // its issuer deletes the user once it exists
  const auto per_lease = locks_.lock(id);
  // Read under the lease's lock: a renew or another revocation may have changed it.
  auto fresh = load(id);
  if (!fresh) return fresh.err().code == make_error_code(errc::lease_not_found) ? status(ok_v) : status(std::move(fresh).err());
  lease l = std::move(*fresh);
  // HA: asked last, right before the database call: true only before the local deadline, so the
  // statement reaches the database before any other node can lead and revoke the lease again.
  if (opts_.acting && !opts_.acting()) {
    return make_error(errc::unavailable, "this node is no longer the active node: the active node revokes the lease");
  }
  l.inherited = l.issue_time < own_since();
  auto s = revoker_.revoke(l);
  if (s) crash_point("revoke:after-db");  // the user is gone, the record not yet: the next process inherits it
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
    if (l.err().code == make_error_code(errc::lease_not_found)) return ok_v;
    return std::move(l).err();
  }
  return exec_.call(revoker_.connection_key(*l), [this, &id] { return attempt_revoke(id); });
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
  return revoke_all(*ids, false);
}

status lease_manager::revoke_all(const std::vector<std::string>& ids, bool force) {
  if (exec_.running_in_this_thread()) {
    // Waiting here for tasks queued behind us could take every thread: one at a time, inline.
    status first = ok_v;
    for (const auto& id : ids) {
      if (auto s = attempt_revoke(id, force); !s && first) first = s;
    }
    return first;
  }
  // One task per lease on its connection's key; connections do not wait for each other. The first
  // failure is returned after every lease was tried.
  struct countdown {
    std::mutex mu;  // a leaf: guards left and first
    std::condition_variable cv;
    std::size_t left = 0;
    status first = ok_v;
  };
  auto done = std::make_shared<countdown>();
  std::vector<std::pair<std::string, std::string>> work;  // connection key, lease id
  for (const auto& id : ids) {
    auto l = load(id);
    if (!l) continue;  // revoked meanwhile
    work.emplace_back(revoker_.connection_key(*l), id);
  }
  done->left = work.size();
  for (auto& [key, id] : work) {
    exec_.submit(key, [this, force, id = std::move(id)] { return attempt_revoke(id, force); }, [done](status s) {
      std::lock_guard lock(done->mu);
      if (!s && done->first) done->first = std::move(s);
      if (--done->left == 0) done->cv.notify_all();
    });
  }
  std::unique_lock lock(done->mu);
  done->cv.wait(lock, [&] { return done->left == 0; });
  return done->first;
}

status lease_manager::expire_now(const std::string& id) {
  if (defer_if_in_flight(id)) return ok_v;
  const auto per_lease = locks_.lock(id);
  auto l = load(id);
  if (!l) return l.err().code == make_error_code(errc::lease_not_found) ? status(ok_v) : status(std::move(l).err());
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
    if (!l && l.err().code == make_error_code(errc::lease_not_found)) {
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
  return revoke_all(*ids, true);
}

void lease_manager::on_due(std::span<const scheduler::fired> due) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    ids.reserve(due.size());
    for (const auto& f : due) {
      // Stale when the slot was released or rescheduled after the wheel let the entry go.
      if (f.slot >= slots_.size() || slots_[f.slot].empty() || timers_[f.slot] != f.entry) continue;
      auto it = index_.find(f.slot);
      index_.erase(it);  // before the id leaves its slot: the set hashes through it
      ids.push_back(std::move(slots_[f.slot]));
      slots_[f.slot] = std::string();
      free_slots_.push_back(f.slot);
    }
  }
  // Fired entries left the scheduler; a retry makes a new one. Reading the records is storage I/O:
  // step 1 runs on the executor, in chunks, so revocations start while later records are read.
  for (std::size_t i = 0; i < ids.size(); i += load_chunk) {
    std::vector<std::string> chunk(std::make_move_iterator(ids.begin() + static_cast<std::ptrdiff_t>(i)),
                                   std::make_move_iterator(ids.begin() + static_cast<std::ptrdiff_t>(
                                                                             std::min(ids.size(), i + load_chunk))));
    post_counted(storage_key, [this, chunk = std::move(chunk)] { queue_revocations(chunk); });
  }
}

void lease_manager::queue_revocations(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    auto l = load(id);
    if (!l) continue;  // revoked meanwhile (or unreadable: restore reports it)
    // Failures are recorded on the lease itself (retries, irrevocable).
    post_counted(revoker_.connection_key(*l), [this, id] { (void)attempt_revoke(id); });
  }
}

void lease_manager::begin_term() {
  own_since_.store((clock_.now() + opts_.inherited_margin).time_since_epoch().count());
}

time_point lease_manager::own_since() const { return time_point{time_point::duration{own_since_.load()}}; }

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
  {
    std::lock_guard lock(mu_);
    index_.reserve(index_.size() + found.size());
  }
  // Restore runs while the API serves: a lease that a request added, renewed or rescheduled since
  // the scan read its record is already in the index with a fresher due time, so it is left alone.
  // (One the scan saw and a request then revoked gets a stale entry: it finds no record when it fires.)
  // mu_ is taken per chunk, so the scheduler's dispatch and requests never wait for a whole restore.
  constexpr std::size_t chunk = 4096;
  for (std::size_t i = 0; i < found.size(); i += chunk) {
    std::lock_guard lock(mu_);
    for (std::size_t j = i; j < std::min(found.size(), i + chunk); ++j) {
      if (!index_.contains(std::string_view(found[j].first))) schedule_locked(found[j].first, found[j].second);
    }
  }
  std::lock_guard lock(mu_);
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
  if (!l) return l.err().code == make_error_code(errc::lease_not_found) ? status(ok_v) : status(std::move(l).err());
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

}  // namespace credbroker::leases
