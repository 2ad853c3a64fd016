#include "api/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <typeinfo>

#include "api/request_metrics.hpp"

namespace credbroker::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

// Per-connection state shared with shutdown(). Touched only on the connection's strand.
struct http_server::connection {
  explicit connection(asio::any_io_executor ex) : executor(std::move(ex)) {}
  asio::any_io_executor executor;
  bool busy = false;                 // a request is being read, handled or answered
  std::function<void()> cancel;      // closes the socket's pending operations
};

namespace {

std::string endpoint_text(const tcp::socket& s) {
  beast::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

raw_request to_raw(const http::request<http::string_body>& req, const std::string& remote) {
  raw_request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  r.body = req.body();
  r.remote = remote;
  return r;
}

http::response<http::string_body> from_raw(raw_response&& raw, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(raw.status));
  for (auto& [name, value] : raw.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (!head) res.body() = std::move(raw.body);
  res.prepare_payload();
  return res;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

template <class Stream>
struct http_server::session_runner {
  static beast::tcp_stream& lowest(Stream& s) { return beast::get_lowest_layer(s); }

  static raw_response handle_safely(http_server& srv, const http::request<http::string_body>& req,
                                    const std::string& remote) {
    try {
      return srv.handler_(to_raw(req, remote));
    } catch (const std::exception& e) {
      spdlog::error("request handler threw an exception of type {}", typeid(e).name());
      raw_response r;
      r.status = 500;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = R"({"errors":["1 error occurred:\n\t* internal error\n\n"]})";
      return r;
    }
  }

  static awaitable<void> run(http_server& srv, std::shared_ptr<connection> conn, Stream stream, std::string remote) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    conn->cancel = [&stream] { beast::get_lowest_layer(stream).cancel(); };

    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest(stream).expires_after(srv.options_.read_timeout);
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        spdlog::debug("tls handshake with {} failed: {}", remote, ec.message());
        conn->cancel = nullptr;
        co_return;
      }
    }

    for (;;) {
      // Idle: wait for the first byte of the next request.
      conn->busy = false;
      if (srv.stopping_) break;
      if (buffer.size() == 0) {
        lowest(stream).expires_after(srv.options_.idle_timeout);
        const std::size_t n = co_await stream.async_read_some(buffer.prepare(4096),
                                                               asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      conn->busy = true;

      // Read the whole request.
      http::request_parser<http::string_body> parser;
      parser.body_limit(srv.options_.body_limit);
      parser.header_limit(64 * 1024);
      lowest(stream).expires_after(srv.options_.read_timeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      const auto started = std::chrono::steady_clock::now();
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == beast::error::timeout) {
        break;
      }
      if (ec) {
        const bool too_large = ec == http::error::body_limit || ec == http::error::header_limit;
        raw_response err;
        err.status = too_large ? 413 : 400;
        err.headers = {{"Content-Type", "application/json"}};
        err.body = too_large ? R"({"errors":["http: request body too large"]})"
                             : R"({"errors":["malformed HTTP request"]})";
        auto res = from_raw(std::move(err), 11, false, false);
        lowest(stream).expires_after(srv.options_.write_timeout);
        co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
        spdlog::info("request method=- path=- status={} duration_ms=0.000 remote={}", res.result_int(), remote);
        count_http_request(res.result_int(), 0);  // request_metrics.hpp
        break;
      }
      auto req = parser.release();
      const bool head = req.method() == http::verb::head;
      const unsigned version = req.version();
      const bool keep_alive = req.keep_alive();
      const std::string method(req.method_string());
      const std::string path(path_of(req.target()));

      raw_response raw;
      if (std::find(srv.options_.inline_paths.begin(), srv.options_.inline_paths.end(), path) !=
          srv.options_.inline_paths.end()) {
        raw = handle_safely(srv, req, remote);
      } else {
        // Handle on the worker pool, resume here on the strand.
        raw = co_await asio::co_spawn(
            srv.workers_.get_executor(),
            [&srv, &req, &remote]() -> awaitable<raw_response> { co_return handle_safely(srv, req, remote); },
            use_awaitable);
      }

      const bool keep = keep_alive && !srv.stopping_;
      auto res = from_raw(std::move(raw), version, keep, head);
      lowest(stream).expires_after(srv.options_.write_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      spdlog::info("request method={} path={} status={} duration_ms={:.3f} remote={}", method, path,
                   res.result_int(), ms, remote);
      count_http_request(res.result_int(), ms / 1000);  // request_metrics.hpp
      if (ec || !keep) break;
    }

    conn->cancel = nullptr;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      lowest(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
    }
  }
};

http_server::http_server(asio::io_context& io, asio::thread_pool& workers, handler_fn handler,
                         server_options options)
    : io_(io),
      workers_(workers),
      handler_(std::move(handler)),
      options_(std::move(options)),
      acceptor_(asio::make_strand(io)) {}  // the accept loop and stop()'s close never run at once

http_server::~http_server() = default;

status http_server::listen(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return make_error(errc::invalid_request, "listen address \"" + address + "\": expected host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    if (host == "localhost") {
      ip = asio::ip::make_address("127.0.0.1");
    } else {
      return make_error(errc::invalid_request, "listen address \"" + address + "\": \"" + host +
                                                   "\" is not an IP address");
    }
  }
  int port = 0;
  try {
    std::size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return make_error(errc::invalid_request, "listen address \"" + address + "\": port must be 0-65535");
  }
  const tcp::endpoint ep(ip, static_cast<unsigned short>(port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return make_error(errc::unavailable, "cannot listen on " + address + ": " + ec.message());
  }
  // Kept here: the acceptor itself belongs to the I/O threads once start() runs (stop() closes it there).
  endpoint_ = acceptor_.local_endpoint(ec);
  return ok_v;
}

tcp::endpoint http_server::local_endpoint() const { return endpoint_; }

void http_server::start() {
  {
    std::lock_guard lock(mu_);
    accept_loop_done_ = false;
  }
  asio::co_spawn(
      acceptor_.get_executor(),
      [this]() -> awaitable<void> {
        for (;;) {
          tcp::socket socket(asio::make_strand(io_));
          beast::error_code ec;
          co_await acceptor_.async_accept(socket, asio::redirect_error(use_awaitable, ec));
          if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) break;
            spdlog::warn("accept failed: {}", ec.message());
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          auto conn = std::make_shared<connection>(socket.get_executor());
          const std::uint64_t id = register_connection(conn);
          std::string remote = endpoint_text(socket);
          auto done = [this, id](std::exception_ptr e) {
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& ex) {
                spdlog::error("connection ended by an exception of type {}", typeid(ex).name());
              }
            }
            unregister_connection(id);
          };
          if (options_.tls) {
            using ssl_stream = beast::ssl_stream<beast::tcp_stream>;
            asio::co_spawn(conn->executor,
                           session_runner<ssl_stream>::run(*this, conn, ssl_stream(std::move(socket), *options_.tls),
                                                           std::move(remote)),
                           done);
          } else {
            asio::co_spawn(conn->executor,
                           session_runner<beast::tcp_stream>::run(*this, conn, beast::tcp_stream(std::move(socket)),
                                                                  std::move(remote)),
                           done);
          }
        }
        {
          std::lock_guard lock(mu_);
          accept_loop_done_ = true;
        }
        maybe_drained();
      },
      asio::detached);
}

std::uint64_t http_server::register_connection(const std::shared_ptr<connection>& c) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  connections_.emplace(id, c);
  return id;
}

void http_server::unregister_connection(std::uint64_t id) {
  {
    std::lock_guard lock(mu_);
    connections_.erase(id);
  }
  maybe_drained();
}

void http_server::maybe_drained() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (!stopping_ || !accept_loop_done_ || !connections_.empty()) return;
    callbacks.swap(on_drained_);
  }
  for (auto& cb : callbacks) {
    if (cb) cb();
  }
}

void http_server::shutdown(std::function<void()> on_drained) {
  std::vector<std::shared_ptr<connection>> conns;
  {
    std::lock_guard lock(mu_);
    on_drained_.push_back(std::move(on_drained));
    if (stopping_.exchange(true)) {
      conns.clear();  // connections were already told; just wait with them
    } else {
      for (const auto& [_, c] : connections_) conns.push_back(c);
    }
  }
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  for (auto& c : conns) {
    asio::post(c->executor, [c] {
      if (!c->busy && c->cancel) c->cancel();
    });
  }
  maybe_drained();
}

std::size_t http_server::connections() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

}  // namespace credbroker::api
