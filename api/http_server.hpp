#pragma once
// http_server: HTTP/1.1 keep-alive server on Boost.Beast + Asio C++20 coroutines.
//
// Threads: the io_context given to the server is run by N I/O threads; each connection lives on its
// own strand. Handlers never run on an I/O thread: each request is handed to the worker pool
// (blocking work such as database calls and fsync waits belongs there) and the connection's
// coroutine resumes on its strand with the response.
//
// Timeouts (per connection):
//   idle_timeout    waiting for the first byte of the next request (keep-alive)
//   read_timeout    from the first byte until the whole request (header + body) has arrived
//   write_timeout   sending the response
// body_limit: a larger body gets 413 and the connection is closed.
//
// Graceful shutdown: shutdown() stops accepting, closes idle connections at once, and lets
// connections with a request in flight finish it (answered with "Connection: close"). When the
// last connection has ended, on_drained runs once.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/message.hpp"
#include "broker/core/result.hpp"

namespace credbroker::api {

struct server_options {
  std::size_t body_limit = 32 * 1024 * 1024;  // Vault's max_request_size default
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  // Paths (no query) whose handlers are cheap and never block: answered on the I/O thread, so
  // liveness probes keep answering while every worker waits on a database.
  std::vector<std::string> inline_paths = {"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/init"};
};

class http_server {
 public:
  using handler_fn = std::function<raw_response(const raw_request&)>;

  http_server(boost::asio::io_context& io, boost::asio::thread_pool& workers, handler_fn handler,
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

 private:
  struct connection;
  template <class Stream>
  struct session_runner;

  std::uint64_t register_connection(const std::shared_ptr<connection>& c);
  void unregister_connection(std::uint64_t id);
  void maybe_drained();

  boost::asio::io_context& io_;
  boost::asio::thread_pool& workers_;
  handler_fn handler_;
  server_options options_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand: the accept loop and stop() share it
  boost::asio::ip::tcp::endpoint endpoint_;  // set by listen(), read-only afterwards

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
  std::uint64_t next_id_ = 1;
  bool accept_loop_done_ = true;
  std::vector<std::function<void()>> on_drained_;
};

}  // namespace credbroker::api
