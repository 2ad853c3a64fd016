#include "broker/audit/socket_sink.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace credbroker::audit {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::size_t batch_bytes = 256 * 1024;

int remaining_ms(steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, steady::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return (p.revents & (events | POLLERR | POLLHUP)) != 0;
    if (r == 0) {
      errno = ETIMEDOUT;
      return false;
    }
    if (errno != EINTR) return false;
  }
}

bool send_all(int fd, std::string_view data, steady::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (!wait_for(fd, POLLOUT, deadline)) return false;
  }
  return true;
}

// "host:port" or "[v6]:port".
bool split_host_port(const std::string& address, std::string& host, std::string& port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty() && port.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

struct socket_sink::item final : pending_write {
  enum class state { queued, sending, recorded, failed };
  item(socket_sink& o, std::string l) : owner(o), line(std::move(l)), deadline(steady::now() + o.settings_.write_timeout) {}

  bool wait() override {
    std::unique_lock lock(owner.queue_mu_);
    const bool settled = owner.done_cv_.wait_until(lock, deadline, [this] { return s == state::recorded || s == state::failed; });
    if (settled) return s == state::recorded;
    if (s == state::queued) {  // still waiting for the writer: drop it, the caller moves on
      s = state::failed;
      ++owner.failed_;
    }
    return false;
  }

  socket_sink& owner;
  std::string line;
  steady::time_point deadline;
  state s = state::queued;  // guarded by owner.queue_mu_
};

result<std::unique_ptr<socket_sink>> socket_sink::open(socket_settings s) {
  if (s.address.empty()) return make_error(errc::invalid_request, "address is required");
  if (s.socket_type != "tcp" && s.socket_type != "udp" && s.socket_type != "unix") {
    return make_error(errc::invalid_request, "socket_type \"" + s.socket_type + "\": expected tcp, udp or unix");
  }
  if (s.socket_type == "unix") {
    if (s.address.size() >= sizeof(sockaddr_un::sun_path)) {
      return make_error(errc::invalid_request, "address: a unix socket path is at most 107 bytes");
    }
  } else {
    std::string host, port;
    if (!split_host_port(s.address, host, port)) {
      return make_error(errc::invalid_request, "address \"" + s.address + "\": expected host:port");
    }
  }
  if (s.write_timeout.count() <= 0) return make_error(errc::invalid_request, "write_timeout must be positive");
  return std::unique_ptr<socket_sink>(new socket_sink(std::move(s)));
}

socket_sink::socket_sink(socket_settings s) : settings_(std::move(s)) {
  writer_ = std::thread([this] { run(); });
}

socket_sink::~socket_sink() {
  {
    std::lock_guard lock(queue_mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  writer_.join();
  close_socket();
}

std::shared_ptr<pending_write> socket_sink::submit(std::string line) {
  auto it = std::make_shared<item>(*this, std::move(line));
  {
    std::lock_guard lock(queue_mu_);
    if (stop_ || queue_.size() >= settings_.max_queue) {
      ++failed_;
      return completed_write(false);
    }
    queue_.push_back(it);
  }
  work_cv_.notify_one();
  return it;
}

status socket_sink::write(std::string_view line) {
  if (submit(std::string(line))->wait()) return ok_v;
  std::lock_guard lock(queue_mu_);
  return make_error(errc::unavailable, settings_.socket_type + " socket " + settings_.address + ": " +
                                           (last_error_.empty() ? "not sent within write_timeout" : last_error_));
}

status socket_sink::reopen() {
  {
    std::lock_guard lock(queue_mu_);
    reconnect_ = true;
  }
  return ok_v;
}

std::uint64_t socket_sink::failed_lines() const {
  std::lock_guard lock(queue_mu_);
  return failed_;
}

void socket_sink::run() {
  for (;;) {
    std::vector<std::shared_ptr<item>> batch;
    bool reconnect = false;
    {
      std::unique_lock lock(queue_mu_);
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) {
        for (auto& i : queue_) {
          if (i->s == item::state::queued) ++failed_;
          i->s = item::state::failed;
        }
        queue_.clear();
        done_cv_.notify_all();
        return;
      }
      std::size_t bytes = 0;
      while (!queue_.empty() && (batch.empty() || bytes + queue_.front()->line.size() <= batch_bytes)) {
        auto i = std::move(queue_.front());
        queue_.pop_front();
        if (i->s != item::state::queued) continue;  // its caller gave up
        i->s = item::state::sending;
        bytes += i->line.size();
        batch.push_back(std::move(i));
      }
      reconnect = std::exchange(reconnect_, false);
    }
    if (batch.empty()) continue;
    if (reconnect) close_socket();
    std::string stream;
    std::deque<std::string_view> datagrams;
    if (settings_.socket_type == "udp") {
      for (const auto& i : batch) datagrams.push_back(i->line);
    } else {
      for (const auto& i : batch) stream += i->line;
    }
    const status sent = send_batch(stream, datagrams);
    {
      std::lock_guard lock(queue_mu_);
      for (auto& i : batch) i->s = sent ? item::state::recorded : item::state::failed;
      if (!sent) {
        failed_ += batch.size();
        last_error_ = sent.err().message;
      }
    }
    done_cv_.notify_all();
  }
}

status socket_sink::send_batch(const std::string& stream, const std::deque<std::string_view>& datagrams) {
  if (fd_ >= 0 && peer_hung_up()) close_socket();
  status sent = send_once(stream, datagrams);
  if (!sent) {
    close_socket();
    sent = send_once(stream, datagrams);
  }
  if (!sent && !failing_) {
    spdlog::warn("audit device {}: {}; its lines fail until it recovers", settings_.label, sent.err().message);
  } else if (sent && failing_) {
    spdlog::info("audit device {}: sending to {} again", settings_.label, settings_.address);
  }
  failing_ = !sent;
  if (!sent) close_socket();
  return sent;
}

status socket_sink::send_once(const std::string& stream, const std::deque<std::string_view>& datagrams) {
  const auto deadline = steady::now() + settings_.write_timeout;
  if (fd_ < 0) {
    if (auto s = connect_socket(); !s) return s;
  }
  auto failed = [this] { return make_error(errc::unavailable, "cannot send to " + settings_.address + ": " + std::strerror(errno)); };
  if (settings_.socket_type != "udp") return send_all(fd_, stream, deadline) ? ok_v : status(failed());
  for (auto d : datagrams) {
    if (!send_all(fd_, d, deadline)) return failed();
  }
  return ok_v;
}

bool socket_sink::peer_hung_up() const {
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return true;
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

status socket_sink::connect_socket() {
  const auto deadline = steady::now() + settings_.write_timeout;
  auto try_connect = [&](int family, int type, const sockaddr* addr, socklen_t len) -> bool {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int r = ::connect(fd, addr, len);
    if (r != 0 && errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int err = 0;
      socklen_t elen = sizeof err;
      r = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0 ? 0 : -1;
      if (err != 0) errno = err;
    }
    if (r != 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      return false;
    }
    fd_ = fd;
    return true;
  };
  if (settings_.socket_type == "unix") {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, settings_.address.c_str(), settings_.address.size() + 1);
    if (try_connect(AF_UNIX, SOCK_STREAM, reinterpret_cast<const sockaddr*>(&sa), sizeof sa)) return ok_v;
    return make_error(errc::unavailable, "cannot connect to " + settings_.address + ": " + std::strerror(errno));
  }
  std::string host, port;
  split_host_port(settings_.address, host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = settings_.socket_type == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return make_error(errc::unavailable, "cannot resolve " + host);
  }
  bool connected = false;
  int err = 0;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    connected = try_connect(a->ai_family, a->ai_socktype, a->ai_addr, a->ai_addrlen);
    if (!connected) err = errno;
  }
  ::freeaddrinfo(found);
  if (!connected) return make_error(errc::unavailable, "cannot connect to " + settings_.address + ": " + std::strerror(err));
  return ok_v;
}

void socket_sink::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace credbroker::audit
