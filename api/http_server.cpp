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

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <typeinfo>

#include "api/request_metrics.hpp"

namespace credbroker::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

// Per-connection state shared with the accept loop and shutdown().
struct http_server::connection {
  explicit connection(asio::any_io_executor ex) : executor(std::move(ex)) {}
  asio::any_io_executor executor;
  std::function<void()> cancel;  // strand only: aborts the socket's pending operations
  // Guarded by the server's mu_ (probe_only is set before the session starts):
  std::uint64_t id = 0;
  bool probe_only = false;
  phase state = phase::idle;
  bool evicted = false;
  bool in_evictable = false;
  std::list<std::uint64_t>::iterator evictable_pos;
};

// What the rate-limited log has counted since its last line (acceptor strand only).
struct http_server::accept_stats {
  static constexpr std::chrono::seconds interval{10};
  std::chrono::steady_clock::time_point last_line{};  // epoch: nothing logged yet
  bool timer_armed = false;
  std::uint64_t accept_errors = 0;
  std::string last_error;
  std::chrono::milliseconds retry_in{0};
  std::uint64_t evicted = 0;
  std::uint64_t probes = 0;
  std::uint64_t refused = 0;
};

namespace {

constexpr std::size_t buffer_limit = 64 * 1024;  // the connection's read buffer: a header fits
constexpr std::size_t drain_chunk = 16 * 1024;

std::string endpoint_text(const tcp::socket& s) {
  beast::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
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

std::vector<std::string> forwarded_for_values(const raw_request& r) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r.headers) {
    if (name == "x-forwarded-for") out.push_back(value);
  }
  return out;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The client went away or timed out: nothing to answer.
bool connection_ended(const beast::error_code& ec) {
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return ec == http::error::end_of_stream || ec == http::error::partial_message;
  }
  return true;  // socket errors, timeouts, cancellation
}

bool out_of_resources(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
         ec == std::errc::too_many_files_open_in_system;
}

// The open-file budget for connections (see auto_max_connections).
std::size_t descriptor_budget(std::uint64_t& soft_out) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = 1024;
  const std::uint64_t soft = rl.rlim_cur == RLIM_INFINITY ? (std::uint64_t{1} << 20) : rl.rlim_cur;
  soft_out = soft;
  std::uint64_t open_now = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++open_now;
  if (ec) open_now = 32;
  const std::uint64_t headroom = std::max<std::uint64_t>(64, soft / 8);
  const std::uint64_t left = soft > open_now + headroom ? soft - open_now - headroom : 0;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(left, 16, 16384));
}

}  // namespace

std::size_t auto_max_connections() {
  std::uint64_t soft = 0;
  return descriptor_budget(soft);
}

template <class Stream>
struct http_server::session_runner {
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;
  static beast::tcp_stream& lowest(Stream& s) { return beast::get_lowest_layer(s); }

  // What one exchange needs besides the stream.
  struct exchange {
    http_server& srv;
    connection& conn;
    Stream& stream;
    beast::flat_buffer& buffer;
    const std::string& remote;
    std::string method = "-";
    std::string path = "-";
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  };

  static raw_response internal_error() { return error_response(500, multierror_text("internal error")); }

  static raw_response handle_safely(http_server& srv, const raw_request& req) {
    try {
      return srv.handler_.handle(req);
    } catch (const std::exception& e) {
      spdlog::error("request handler threw an exception of type {}", typeid(e).name());
      return internal_error();
    }
  }

  static std::optional<raw_response> authenticate_safely(http_server& srv, raw_request& head) {
    try {
      return srv.handler_.authenticate(head);
    } catch (const std::exception& e) {
      spdlog::error("token check threw an exception of type {}", typeid(e).name());
      return internal_error();
    }
  }

  template <class F>
  static awaitable<std::invoke_result_t<F&>> on_worker(http_server& srv, F f) {
    using R = std::invoke_result_t<F&>;
    co_return co_await asio::co_spawn(
        srv.workers_.get_executor(), [f = std::move(f)]() mutable -> awaitable<R> { co_return f(); }, use_awaitable);
  }

  // Reads and discards what the client still sends after a refusal (bounded in bytes and time), so
  // it can read the answer; memory stays at one 16 KiB chunk.
  static awaitable<void> drain(exchange& x) {
    if (!x.srv.enter(x.conn, phase::draining)) co_return;
    x.buffer.clear();
    x.buffer.shrink_to_fit();
    beast::error_code ec;
    if constexpr (!tls) lowest(x.stream).socket().shutdown(tcp::socket::shutdown_send, ec);
    std::vector<char> scratch(drain_chunk);
    lowest(x.stream).expires_after(x.srv.options_.read_timeout);
    for (std::size_t total = 0; total <= x.srv.options_.body_limit;) {
      total += co_await x.stream.async_read_some(asio::buffer(scratch), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
  }

  // Sends the answer and logs the request; true when the connection may serve another request.
  static awaitable<bool> answer(exchange& x, raw_response raw, unsigned version, bool keep, bool head, bool drain_after) {
    auto res = from_raw(std::move(raw), version, keep, head);
    beast::error_code ec;
    lowest(x.stream).expires_after(x.srv.options_.write_timeout);
    co_await http::async_write(x.stream, res, asio::redirect_error(use_awaitable, ec));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - x.started).count();
    spdlog::info("request method={} path={} status={} duration_ms={:.3f} remote={}", x.method, x.path, res.result_int(),
                 ms, x.remote);
    count_http_request(res.result_int(), ms / 1000);  // request_metrics.hpp
    if (ec) co_return false;
    if (drain_after) co_await drain(x);
    co_return keep;
  }

  // One request (http_request.hpp's steps); true when the connection may serve another.
  static awaitable<bool> serve_one(exchange& x) {
    http_server& srv = x.srv;
    const auto& opts = srv.options_;
    const auto first_byte = std::chrono::steady_clock::now();
    beast::error_code ec;
    request_parser parser;
    prepare_parser(parser, opts);
    lowest(x.stream).expires_at(first_byte + std::min(opts.header_timeout, opts.read_timeout));
    co_await http::async_read_header(x.stream, x.buffer, parser, asio::redirect_error(use_awaitable, ec));
    x.started = std::chrono::steady_clock::now();
    if (ec) {
      if (connection_ended(ec)) co_return false;
      co_return co_await answer(x, parse_error_response(ec), 11, false, false, true);
    }
    const auto& header = parser.get();
    raw_request raw = head_of(header, x.remote);
    x.method = raw.method;
    x.path = srv.handler_.loggable_path(raw.target);
    const unsigned version = header.version();
    const bool head = header.method() == http::verb::head;
    const bool keep_alive = header.keep_alive() && !x.conn.probe_only;
    if (auto who = resolve_client(opts.forwarded_for, raw.remote, forwarded_for_values(raw)); who.refusal) {
      const bool pending = !parser.is_done();
      co_return co_await answer(x, error_response(400, *who.refusal), version, keep_alive && !pending, head, pending);
    } else {
      raw.remote = std::move(who.remote);
    }
    const bool is_inline = std::find(opts.inline_paths.begin(), opts.inline_paths.end(), path_of(raw.target)) !=
                           opts.inline_paths.end();
    const bool body_pending = !parser.is_done();

    header_verdict v = judge_header(srv.handler_, raw, parser, opts, x.conn.probe_only, is_inline);
    if (v.refuse) {
      const bool keep = keep_alive && !body_pending && !srv.stopping_;
      co_return co_await answer(x, std::move(*v.refuse), version, keep, head, body_pending);
    }
    if (!srv.enter(x.conn, phase::busy)) co_return false;
    if (v.authenticate_first) {
      auto denied = co_await on_worker(srv, [&srv, &raw] { return authenticate_safely(srv, raw); });
      if (denied) co_return co_await answer(x, std::move(*denied), version, false, head, true);
    }
    if (!parser.is_done()) {
      if (expects_continue(header)) {
        http::response<http::empty_body> go_on{http::status::continue_, version};
        lowest(x.stream).expires_after(opts.write_timeout);
        co_await http::async_write(x.stream, go_on, asio::redirect_error(use_awaitable, ec));
        if (ec) co_return false;
      }
      lowest(x.stream).expires_at(first_byte + opts.read_timeout);
      co_await http::async_read(x.stream, x.buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (connection_ended(ec)) co_return false;
        co_return co_await answer(x, parse_error_response(ec), version, false, head, true);
      }
    }
    raw.body = std::move(parser.get().body());

    raw_response res;
    if (is_inline) {
      res = handle_safely(srv, raw);
    } else {
      res = co_await on_worker(srv, [&srv, &raw] { return handle_safely(srv, raw); });
    }
    co_return co_await answer(x, std::move(res), version, keep_alive && !srv.stopping_, head, false);
  }

  static awaitable<void> run(http_server& srv, std::shared_ptr<connection> conn, Stream stream, std::string remote) {
    beast::error_code ec;
    beast::flat_buffer buffer(buffer_limit);
    conn->cancel = [&stream] { lowest(stream).cancel(); };
    bool ok = true;

    if constexpr (tls) {
      ok = srv.enter(*conn, phase::header);
      if (ok) {
        lowest(stream).expires_after(std::min(srv.options_.header_timeout, srv.options_.read_timeout));
        co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
        if (ec) {
          spdlog::debug("tls handshake with {} failed: {}", remote, ec.message());
          conn->cancel = nullptr;
          co_return;
        }
      }
    }

    while (ok) {
      // Idle: wait for the first byte of the next request, holding no more than 1 KiB.
      if (!srv.enter(*conn, phase::idle) || srv.stopping_) break;
      if (buffer.size() == 0) {
        buffer.shrink_to_fit();
        lowest(stream).expires_after(srv.options_.idle_timeout);
        const std::size_t n = co_await stream.async_read_some(buffer.prepare(1024), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      if (!srv.enter(*conn, phase::header)) break;
      exchange x{srv, *conn, stream, buffer, remote};
      ok = co_await serve_one(x);
    }

    conn->cancel = nullptr;
    if constexpr (!tls) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      lowest(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
    }
  }
};

http_server::http_server(asio::io_context& io, asio::thread_pool& workers, const request_handler& handler,
                         server_options options)
    : io_(io),
      workers_(workers),
      handler_(handler),
      options_(std::move(options)),
      acceptor_(asio::make_strand(io)),  // the accept loop and stop()'s close never run at once
      stats_timer_(acceptor_.get_executor()),
      backoff_timer_(acceptor_.get_executor()),
      stats_(std::make_unique<accept_stats>()) {}

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
  std::uint64_t soft = 0;
  const std::size_t budget = descriptor_budget(soft);
  max_connections_ = options_.max_connections != 0 ? options_.max_connections : budget;
  if (options_.max_connections > budget) {
    spdlog::warn("max_connections {} is more than the open-file limit ({}) leaves for connections ({}): when "
                 "descriptors run out, idle connections are closed to make room",
                 options_.max_connections, soft, budget);
  }
  spdlog::info("accepting up to {} connections ({}; open-file limit {}), {} more for health checks",
               max_connections_, options_.max_connections != 0 ? "max_connections" : "from the open-file limit", soft,
               options_.probe_connections);
  {
    std::lock_guard lock(mu_);
    accept_loop_done_ = false;
  }
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

awaitable<void> http_server::accept_loop() {
  std::chrono::milliseconds delay{0};
  for (;;) {
    tcp::socket socket(asio::make_strand(io_));
    beast::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (stopping_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      // Out of descriptors: the oldest idle connection makes room; in any case wait before the
      // next try instead of spinning on an error the kernel returns at once.
      if (out_of_resources(ec)) evict_oldest_idle();
      delay = std::clamp(delay * 2, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
      note_accept_error(ec, delay);
      backoff_timer_.expires_after(delay);
      co_await backoff_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopping_) break;
      continue;
    }
    delay = std::chrono::milliseconds(0);
    start_session(std::move(socket));
  }
  {
    std::lock_guard lock(mu_);
    accept_loop_done_ = true;
  }
  maybe_drained();
}

void http_server::start_session(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto conn = std::make_shared<connection>(socket.get_executor());
  if (admit(conn) == admission::refused) return;  // the socket closes here
  std::string remote = endpoint_text(socket);
  auto done = [this, conn](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection ended by an exception of type {}", typeid(ex).name());
      }
    }
    unregister_connection(conn);
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

http_server::admission http_server::admit(const std::shared_ptr<connection>& c) {
  admission how = admission::normal;
  bool at_limit = false;
  std::shared_ptr<connection> victim;
  {
    std::lock_guard lock(mu_);
    at_limit = connections_.size() - evicting_ - probes_ >= max_connections_;
    if (at_limit) victim = pick_victim_locked();
    if (at_limit && !victim) how = probes_ < options_.probe_connections ? admission::probe_only : admission::refused;
    if (how != admission::refused) {
      c->id = next_id_++;
      c->probe_only = how == admission::probe_only;
      if (c->probe_only) ++probes_;
      connections_.emplace(c->id, c);
    }
  }
  if (victim) close_evicted(victim);
  if (at_limit) note_limit_event(how, victim != nullptr);
  return how;
}

std::shared_ptr<http_server::connection> http_server::pick_victim_locked() {
  while (!evictable_.empty()) {
    const std::uint64_t id = evictable_.front();
    evictable_.pop_front();
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    connection& c = *it->second;
    c.in_evictable = false;
    if (c.evicted) continue;
    c.evicted = true;
    ++evicting_;
    return it->second;
  }
  return nullptr;
}

void http_server::close_evicted(const std::shared_ptr<connection>& victim) {
  // On its strand: aborts the read it waits in; a connection that is between two operations finds
  // itself evicted at its next phase change (enter) and ends there.
  asio::post(victim->executor, [victim] {
    if (victim->cancel) victim->cancel();
  });
}

bool http_server::evict_oldest_idle() {
  std::shared_ptr<connection> victim;
  {
    std::lock_guard lock(mu_);
    victim = pick_victim_locked();
  }
  if (!victim) return false;
  close_evicted(victim);
  return true;
}

bool http_server::enter(connection& c, phase p) {
  std::lock_guard lock(mu_);
  if (c.evicted) return false;
  c.state = p;
  const bool evictable = p != phase::busy && !c.probe_only;
  if (c.in_evictable && (!evictable || p == phase::idle)) {
    evictable_.erase(c.evictable_pos);  // busy, or idle again: leaves (and rejoins at the back)
    c.in_evictable = false;
  }
  if (evictable && !c.in_evictable) {
    c.evictable_pos = evictable_.insert(evictable_.end(), c.id);
    c.in_evictable = true;
  }
  return true;
}

void http_server::unregister_connection(const std::shared_ptr<connection>& c) {
  {
    std::lock_guard lock(mu_);
    connections_.erase(c->id);
    if (c->in_evictable) {
      evictable_.erase(c->evictable_pos);
      c->in_evictable = false;
    }
    if (c->evicted) --evicting_;
    if (c->probe_only) --probes_;
  }
  maybe_drained();
}

void http_server::note_accept_error(const boost::system::error_code& ec, std::chrono::milliseconds retry_in) {
  auto& s = *stats_;
  ++s.accept_errors;
  s.last_error = ec.message();
  s.retry_in = retry_in;
  if (std::chrono::steady_clock::now() - s.last_line >= accept_stats::interval) {
    flush_stats();
  } else {
    flush_stats_later();
  }
}

void http_server::note_limit_event(admission how, bool evicted) {
  auto& s = *stats_;
  if (evicted) ++s.evicted;
  if (how == admission::probe_only) ++s.probes;
  if (how == admission::refused) ++s.refused;
  if (std::chrono::steady_clock::now() - s.last_line >= accept_stats::interval) {
    flush_stats();
  } else {
    flush_stats_later();
  }
}

void http_server::flush_stats_later() {
  auto& s = *stats_;
  if (s.timer_armed || stopping_) return;
  s.timer_armed = true;
  stats_timer_.expires_at(s.last_line + accept_stats::interval);
  stats_timer_.async_wait([this](const boost::system::error_code& ec) {
    stats_->timer_armed = false;
    if (!ec) flush_stats();
  });
}

void http_server::flush_stats() {
  auto& s = *stats_;
  if (s.accept_errors == 0 && s.evicted == 0 && s.probes == 0 && s.refused == 0) return;
  s.last_line = std::chrono::steady_clock::now();
  const std::size_t open = connections();
  if (s.accept_errors > 0) {
    spdlog::warn("accept failed {} time(s) since the last report ({}); {} connections open, max_connections {}; "
                 "retrying in {} ms",
                 s.accept_errors, s.last_error, open, max_connections_, s.retry_in.count());
  }
  if (s.evicted > 0 || s.probes > 0 || s.refused > 0) {
    spdlog::warn("connection limit reached (max_connections {}): since the last report {} idle connection(s) "
                 "closed to make room, {} admitted for health checks only, {} refused",
                 max_connections_, s.evicted, s.probes, s.refused);
  }
  s.accept_errors = s.evicted = s.probes = s.refused = 0;
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
    backoff_timer_.cancel();
    stats_timer_.cancel();
    flush_stats();
  });
  for (auto& c : conns) {
    asio::post(c->executor, [this, c] {
      bool idle = false;
      {
        std::lock_guard lock(mu_);
        idle = c->state != phase::busy;
      }
      if (idle && c->cancel) c->cancel();
    });
  }
  maybe_drained();
}

std::size_t http_server::connections() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

std::size_t http_server::idle_connections() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [id, c] : connections_) n += c->state == phase::idle ? 1 : 0;
  return n;
}

}  // namespace credbroker::api
