#pragma once
// http_server: HTTP/1.1 keep-alive server on Boost.Beast + Asio C++20 coroutines.
//
// Threads: the io_context given to the server is run by N I/O threads; each connection lives on its
// own strand, the accept loop on the acceptor's. Handlers never run on an I/O thread (except the
// inline paths): each request is handed to the worker pool (blocking work such as database calls
// and fsync waits belongs there) and the connection's coroutine resumes on its strand.
//
// A request goes through http_request.hpp's steps: the header is read and judged by the handler
// before any body is read (a protected route without an accepted token is refused at once, and its
// body never buffered), then the body up to the route's limit, then the handler.
//
// Timeouts (per connection):
//   idle_timeout    waiting for the first byte of the next request (keep-alive)
//   header_timeout  from the first byte until the header has arrived (and the TLS handshake)
//   read_timeout    from the first byte until the whole request (header + body) has arrived
//   write_timeout   sending the response
//
// Connection limit: at most max_connections connections (0: derived from the open-file limit, see
// auto_max_connections). A connection beyond it closes the oldest idle connection (waiting for its
// next request, or still sending a header: nothing accepted yet) and is served; when every
// connection is busy with a request, up to probe_connections more are admitted for the inline paths
// only (sys/health, sys/seal-status: a probe still gets in) and answer 503 otherwise; beyond those
// the new connection is closed at once. Accept errors (out of file descriptors) close the oldest
// idle connection and retry after a backoff (1 ms doubling to 1 s); both are logged at most once
// per 10 s with counts, never once per event.
//
// Refusals that leave a body unread are answered with "Connection: close"; the server then reads
// and discards what the client still sends (at most body_limit bytes, within read_timeout, through
// a 16 KiB buffer) so the client reads the answer instead of a reset.
//
// Graceful shutdown: shutdown() stops accepting, closes idle connections at once, and lets
// connections with a request in flight finish it (answered with "Connection: close"). When the
// last connection has ended, on_drained runs once.
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/forwarded_for.hpp"
#include "api/http_request.hpp"
#include "api/message.hpp"
#include "broker/core/result.hpp"

namespace credbroker::api {

struct server_options : request_limits {
  std::size_t max_connections = 0;   // 0: auto_max_connections()
  std::size_t probe_connections = 8;  // beyond max_connections, for the inline paths only
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  std::vector<std::string> inline_paths = default_inline_paths;  // see http_request.hpp
  // X-Forwarded-For from trusted proxies (forwarded_for.hpp): raw_request::remote becomes the client
  // it names, or the request is refused with 400 before the handler sees it.
  forwarded_for_options forwarded_for;
};

// The connections this process can afford from its open-file limit (RLIMIT_NOFILE): the soft limit
// minus the files open now, minus headroom for everything else (database connections, storage,
// logs: an eighth of the limit, at least 64), between 16 and 16384.
// Example: soft limit 1024 with 20 files open -> 1024 - 20 - 128 = 876.
std::size_t auto_max_connections();

class http_server {
 public:
  // `handler` must outlive the server.
  http_server(boost::asio::io_context& io, boost::asio::thread_pool& workers, const request_handler& handler,
              server_options options);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and listens on "host:port" (port 0 picks a free port). Errors name the address.
  status listen(const std::string& address);
  // The address listen() bound (port 0 resolved); safe from any thread, also after stop().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting. Call once, after listen().
  void start();

  // Thread-safe; may be called more than once. Each on_drained runs once, when no connection is
  // left (at once if that is already so).
  void shutdown(std::function<void()> on_drained);

  std::size_t connections() const;
  // Of those, the ones waiting for the first byte of their next request (O(connections)).
  std::size_t idle_connections() const;
  // The limit in force (options.max_connections, or auto_max_connections() when that was 0).
  std::size_t max_connections() const { return max_connections_; }

 private:
  struct connection;
  template <class Stream>
  struct session_runner;
  // What a connection is doing; guarded by mu_. Idle, header and draining connections have nothing
  // accepted and may be closed to make room (evictable); busy ones are handling a request.
  enum class phase { idle, header, busy, draining };
  enum class admission { normal, probe_only, refused };
  struct accept_stats;

  boost::asio::awaitable<void> accept_loop();
  admission admit(const std::shared_ptr<connection>& c);
  void start_session(boost::asio::ip::tcp::socket socket);
  // Closes the oldest evictable connection; false when there is none.
  bool evict_oldest_idle();
  std::shared_ptr<connection> pick_victim_locked();  // marks it evicted; null when none (mu_ held)
  void close_evicted(const std::shared_ptr<connection>& victim);
  // Records the phase; false when the connection was evicted and must end.
  bool enter(connection& c, phase p);
  void unregister_connection(const std::shared_ptr<connection>& c);
  void maybe_drained();
  // Rate-limited logging of accept errors and limit events (acceptor strand only).
  void note_accept_error(const boost::system::error_code& ec, std::chrono::milliseconds retry_in);
  void note_limit_event(admission how, bool evicted);
  void flush_stats_later();
  void flush_stats();

  boost::asio::io_context& io_;
  boost::asio::thread_pool& workers_;
  const request_handler& handler_;
  server_options options_;
  std::size_t max_connections_ = 0;
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand: the accept loop and stop() share it
  boost::asio::ip::tcp::endpoint endpoint_;  // set by listen(), read-only afterwards
  boost::asio::steady_timer stats_timer_;    // acceptor strand: flushes the rate-limited log
  boost::asio::steady_timer backoff_timer_;  // acceptor strand: the wait after an accept error
  std::unique_ptr<accept_stats> stats_;      // acceptor strand only

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // guards everything below and each connection's phase/eviction state
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
  std::list<std::uint64_t> evictable_;  // ids of idle/header/draining connections, oldest idle first
  std::size_t evicting_ = 0;            // evicted, not yet ended
  std::size_t probes_ = 0;              // admitted beyond the limit, for the inline paths only
  std::uint64_t next_id_ = 1;
  bool accept_loop_done_ = true;
  std::vector<std::function<void()>> on_drained_;
};

}  // namespace credbroker::api
