#pragma once
// local_deadline: how long a leader may believe it still leads without hearing from the database.
//
// The leader's lock session has idle_session_timeout = ttl on the server: the server ends it (and
// with it the advisory lock) once it has been idle for ttl. The server's idle clock starts when a
// statement finishes, which is after the client sent it, so a statement sent at S that succeeded
// proves the session lives at least until S + ttl in real time. The leader therefore believes it
// leads until  confirmed + ttl - margin  (margin = max(ttl / 10, 100 ms), for clock rates and the
// time to stop its work), sends a heartbeat when the session has been idle for ttl / 3, and once
// that deadline passes without a newer confirmation it steps down on its own: it was paused
// (SIGSTOP), starved, or cut off from the database, and another node may lead already.
//
//   ttl 10 s: acquired at t=0 -> heartbeat due at 3.33 s -> confirmed(3.4 s) -> expired from 12.4 s
//
// Times are std::chrono::steady_clock points given by the caller (a fake in tests).
// Thread: not synchronised; the owner guards it.
#include <chrono>

namespace credbroker::ha {

class local_deadline {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  explicit local_deadline(std::chrono::milliseconds ttl);

  // A term starts: the statement that took the lock and the epoch was sent at `sent`.
  void acquired(time_point sent);
  // A statement on the lock session sent at `sent` succeeded (older times are ignored).
  void confirmed(time_point sent);
  void lost() { holding_ = false; }

  bool holding() const { return holding_; }
  bool heartbeat_due(time_point now) const { return holding_ && now >= confirmed_ + ttl_ / 3; }
  bool expired(time_point now) const { return holding_ && now >= expires_at(); }
  time_point expires_at() const { return confirmed_ + ttl_ - margin_; }
  duration margin() const { return margin_; }

 private:
  duration ttl_;
  duration margin_;
  bool holding_ = false;
  time_point confirmed_{};
};

}  // namespace credbroker::ha
