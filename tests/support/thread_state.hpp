#pragma once
// For tests that must know another thread is blocked (waiting on a lock or a condition) before they
// go on, without sleeping: the kernel's view of the thread, from /proc/self/task/<tid>/stat.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace credbroker::test {

// The calling thread's kernel id (for waiting_in_kernel from another thread).
inline pid_t this_thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Whether thread `tid` of this process is asleep in the kernel (state S or D: a futex wait, a read).
inline bool asleep(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  const auto close = line.rfind(')');  // the name may hold spaces and parentheses
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state == 'S' || state == 'D';
}

// Spins (yielding) until thread `tid` sleeps in the kernel; false if it did not within `limit`.
inline bool wait_until_asleep(pid_t tid, std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!asleep(tid)) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace credbroker::test
