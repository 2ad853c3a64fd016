// The real HTTP server on a free loopback port, spoken to over TCP: keep-alive, body limit, timeouts,
// concurrency, TLS and graceful shutdown.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <thread>

#include "api/http_server.hpp"
#include "api/service.hpp"
#include "support/seal.hpp"
#include "broker/core/logging.hpp"

using namespace credbroker;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

const std::string root = "integration-root-token";

using credbroker::test::unsealed;

// Counts token checks, so a test can prove each request's token is checked once.
class counting_authenticator final : public auth::authenticator {
 public:
  std::optional<auth::identity> authenticate(const secret& token) override {
    ++checks;
    return inner_.authenticate(token);
  }
  std::atomic<int> checks{0};

 private:
  auth::root_token_authenticator inner_{secret(root)};
};

// A running server on 127.0.0.1:<free port>, with 2 I/O threads. Besides the service's routes,
// /v1/test/slow blocks in its handler until release() (it needs no token).
class server_fixture : public api::request_handler {
 public:
  explicit server_fixture(api::server_options opts = {})
      : node_(unsealed()), svc_(node_, authn_), workers_(8), server_(io_, workers_, *this, std::move(opts)) {
    // Logging is set up before any thread starts, as the server's main does.
    EXPECT_TRUE(configure_logging("info", log_format::standard).ok());
    auto s = server_.listen("127.0.0.1:0");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.err().message);
    server_.start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~server_fixture() {
    std::promise<void> drained;
    server_.shutdown([&] { drained.set_value(); });
    drained.get_future().wait_for(std::chrono::seconds(10));
    io_.stop();
    for (auto& t : threads_) t.join();
    workers_.join();
  }
  unsigned short port() const { return server_.local_endpoint().port(); }
  api::http_server& server() { return server_; }
  counting_authenticator& authn() { return authn_; }

  // Requests to /v1/test/slow block until release() is called.
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  mutable std::atomic<int> slow_started{0};

 private:
  api::head_decision inspect(const api::raw_request& head) const override {
    if (head.target == "/v1/test/slow") return {};
    return svc_.inspect(head);
  }
  std::optional<api::raw_response> authenticate(api::raw_request& head) const override {
    return svc_.authenticate(head);
  }
  std::string loggable_path(std::string_view target) const override { return svc_.loggable_path(target); }
  api::raw_response handle(const api::raw_request& r) const override {
    if (r.target == "/v1/test/slow") {
      ++slow_started;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
      api::raw_response out;
      out.status = 200;
      out.headers = {{"Content-Type", "application/json"}};
      out.body = R"({"slow":true})";
      return out;
    }
    return svc_.handle(r);
  }

  fixed_node_status node_;
  counting_authenticator authn_;
  api::service svc_;
  asio::io_context io_;
  asio::thread_pool workers_;
  api::http_server server_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool released_ = false;
};

struct client {
  asio::io_context io;
  tcp::socket sock{io};
  beast::flat_buffer buf;

  explicit client(unsigned short port) { sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)); }

  void send_raw(const std::string& bytes) { asio::write(sock, asio::buffer(bytes)); }

  http::response<http::string_body> read_response() {
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    return res;
  }

  http::response<http::string_body> request(http::verb verb, const std::string& target, const std::string& body = "",
                                            bool token = true) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (token) req.set("X-Vault-Token", root);
    req.body() = body;
    req.prepare_payload();
    http::write(sock, req);
    return read_response();
  }

  // True when the server closed the connection (EOF or reset) within the time limit.
  bool closed_by_server(std::chrono::milliseconds limit) {
    sock.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char c;
    while (std::chrono::steady_clock::now() < deadline) {
      beast::error_code ec;
      sock.read_some(asio::buffer(&c, 1), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
    return false;
  }
};

TEST(http_server, keep_alive_serves_many_requests_on_one_connection) {
  server_fixture srv;
  client c(srv.port());
  for (int i = 0; i < 5; ++i) {
    auto res = c.request(http::verb::get, "/v1/sys/health");
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(json::parse(res.body())["initialized"], true);
  }
}

TEST(http_server, list_verb_and_auth_over_the_wire) {
  server_fixture srv;
  client c(srv.port());
  c.send_raw("LIST /v1/nothing/here HTTP/1.1\r\nHost: x\r\nX-Vault-Token: " + root + "\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"errors":["no handler for route \"nothing/here/\". route entry not found."]})"));
  c.send_raw("LIST /v1/nothing/here HTTP/1.1\r\nHost: x\r\n\r\n");
  res = c.read_response();
  EXPECT_EQ(res.result_int(), 403u);
  EXPECT_EQ(json::parse(res.body()), json::parse(R"({"errors":["permission denied"]})"));
  c.send_raw("HEAD /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n");
  http::response_parser<http::empty_body> head;
  head.skip(true);
  http::read(c.sock, c.buf, head);
  EXPECT_EQ(head.get().result_int(), 200u);
}

TEST(http_server, body_over_the_limit_is_413_and_closes) {
  api::server_options o;
  o.body_limit = 4096;
  o.unauthenticated_body_limit = 1024;
  server_fixture srv(o);
  client c(srv.port());
  auto ok = c.request(http::verb::post, "/v1/sys/health", std::string(100, ' '), false);
  EXPECT_EQ(ok.result_int(), 405u);  // fits: reaches the router
  // An unauthenticated route has the small limit ...
  auto res = c.request(http::verb::post, "/v1/sys/health", std::string(2048, ' '), false);
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(json::parse(res.body()), json::parse(R"({"errors":["http: request body too large"]})"));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
  // ... a request with an accepted token the large one.
  client t(srv.port());
  EXPECT_EQ(t.request(http::verb::post, "/v1/nothing/here", std::string(2048, ' ')).result_int(), 404u);
  EXPECT_EQ(t.request(http::verb::post, "/v1/nothing/here", std::string(8192, ' ')).result_int(), 413u);
  EXPECT_TRUE(t.closed_by_server(std::chrono::seconds(5)));
}

TEST(http_server, chunked_body_over_the_unauthenticated_limit_is_413) {
  api::server_options o;
  o.unauthenticated_body_limit = 1024;
  server_fixture srv(o);
  client c(srv.port());
  std::string chunk(800, ' ');
  c.send_raw("PUT /v1/sys/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  c.send_raw("320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_response().result_int(), 413u);
}

TEST(http_server, a_body_without_a_token_is_refused_from_the_header) {
  server_fixture srv;
  client c(srv.port());
  // 31 MiB announced, not a byte sent: the answer comes from the header alone.
  c.send_raw("POST /v1/sys/policy/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 32505856\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 403u);
  EXPECT_EQ(json::parse(res.body()), json::parse(R"({"errors":["permission denied"]})"));
  EXPECT_FALSE(res.keep_alive());
  // What the client still sends is read and dropped; then the server closes.
  c.send_raw(std::string(1 << 20, 'x'));
  c.sock.shutdown(tcp::socket::shutdown_send);
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(10)));
  EXPECT_EQ(srv.authn().checks.load(), 0);  // no token: nothing to check

  // A wrong token is checked (once) before the body, and refused the same way.
  client w(srv.port());
  w.send_raw("POST /v1/sys/policy/x HTTP/1.1\r\nHost: x\r\nX-Vault-Token: wrong\r\nContent-Length: 32505856\r\n\r\n");
  EXPECT_EQ(w.read_response().result_int(), 403u);
  EXPECT_EQ(srv.authn().checks.load(), 1);
}

TEST(http_server, each_request_checks_its_token_once) {
  server_fixture srv;
  client c(srv.port());
  EXPECT_EQ(c.request(http::verb::post, "/v1/nothing/here", R"({"a":1})").result_int(), 404u);  // with a body
  EXPECT_EQ(srv.authn().checks.load(), 1);
  EXPECT_EQ(c.request(http::verb::get, "/v1/nothing/here").result_int(), 404u);  // without
  EXPECT_EQ(srv.authn().checks.load(), 2);
}

TEST(http_server, expect_continue_is_answered_after_the_token) {
  server_fixture srv;
  client c(srv.port());
  c.send_raw("POST /v1/nothing/here HTTP/1.1\r\nHost: x\r\nX-Vault-Token: " + root +
             "\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n");
  EXPECT_EQ(c.read_response().result_int(), 100u);
  c.send_raw(R"({"a":1})");
  EXPECT_EQ(c.read_response().result_int(), 404u);
  client anon(srv.port());
  anon.send_raw("POST /v1/nothing/here HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n");
  EXPECT_EQ(anon.read_response().result_int(), 403u);  // no 100: the body is never wanted
}

TEST(http_server, oversized_header_is_431) {
  server_fixture srv;
  client c(srv.port());
  c.send_raw("GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 431u);
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
}

TEST(http_server, max_connections_closes_the_oldest_idle) {
  api::server_options o;
  o.max_connections = 3;
  server_fixture srv(o);
  // A client reads its answer before the server's side of the connection is idle again; the order
  // of idleness is the order the server saw, so each step waits for the server to settle.
  auto settle = [&](std::size_t n) {
    for (int i = 0; i < 500 && srv.server().idle_connections() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(srv.server().idle_connections(), n);
  };
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<client>(srv.port()));
    EXPECT_EQ(idle.back()->request(http::verb::get, "/v1/sys/health").result_int(), 200u);
    settle(idle.size());
  }
  // The second one is used again: the first is now the oldest idle.
  EXPECT_EQ(idle[1]->request(http::verb::get, "/v1/sys/health").result_int(), 200u);
  settle(3);
  client fresh(srv.port());
  EXPECT_EQ(fresh.request(http::verb::get, "/v1/sys/health").result_int(), 200u);
  EXPECT_TRUE(idle[0]->closed_by_server(std::chrono::seconds(5)));
  EXPECT_EQ(idle[1]->request(http::verb::get, "/v1/sys/seal-status").result_int(), 200u);
  EXPECT_EQ(idle[2]->request(http::verb::get, "/v1/sys/seal-status").result_int(), 200u);
  EXPECT_LE(srv.server().connections(), 3u);
}

TEST(http_server, a_probe_gets_in_when_every_connection_is_busy) {
  api::server_options o;
  o.max_connections = 2;
  o.probe_connections = 1;
  server_fixture srv(o);
  std::vector<std::unique_ptr<client>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::make_unique<client>(srv.port()));
    busy.back()->send_raw("GET /v1/test/slow HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (int i = 0; i < 500 && srv.slow_started < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(srv.slow_started.load(), 2);
  {
    client probe(srv.port());  // beyond the limit: health only, then closed
    auto res = probe.request(http::verb::get, "/v1/sys/health", "", false);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_FALSE(res.keep_alive());
  }
  for (int i = 0; i < 500 && srv.server().connections() > 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  {
    client other(srv.port());
    auto res = other.request(http::verb::get, "/v1/sys/policy/x");
    EXPECT_EQ(res.result_int(), 503u);
    EXPECT_EQ(json::parse(res.body()),
              json::parse(R"({"errors":["too many connections: only health checks are served right now"]})"));
  }
  srv.release();
  for (auto& b : busy) EXPECT_EQ(b->read_response().result_int(), 200u);
}

TEST(http_server, header_timeout_bounds_a_slow_header) {
  api::server_options o;
  o.header_timeout = std::chrono::milliseconds(300);
  server_fixture srv(o);
  client c(srv.port());
  const auto t0 = std::chrono::steady_clock::now();
  c.send_raw("GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(http_server, malformed_request_is_400) {
  server_fixture srv;
  client c(srv.port());
  c.send_raw("GET /v1/sys/health HTTP/1.1\r\nBad Header Line\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
}

TEST(http_server, idle_connections_time_out) {
  api::server_options o;
  o.idle_timeout = std::chrono::milliseconds(300);
  server_fixture srv(o);
  client c(srv.port());
  EXPECT_EQ(c.request(http::verb::get, "/v1/sys/health").result_int(), 200u);
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
}

TEST(http_server, slow_senders_time_out) {
  api::server_options o;
  o.read_timeout = std::chrono::milliseconds(300);
  server_fixture srv(o);
  client c(srv.port());
  c.send_raw("GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_TRUE(c.closed_by_server(std::chrono::seconds(5)));
}

TEST(http_server, concurrent_clients) {
  server_fixture srv;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      client c(srv.port());
      for (int i = 0; i < 25; ++i) {
        if (c.request(http::verb::get, "/v1/sys/seal-status").result_int() == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16 * 25);
}

TEST(http_server, health_answers_while_every_worker_is_blocked) {
  // Two I/O threads, eight workers; ten requests blocked in handlers must not stop a health check.
  server_fixture srv;
  std::vector<std::unique_ptr<client>> blocked;
  for (int i = 0; i < 10; ++i) {
    blocked.push_back(std::make_unique<client>(srv.port()));
    blocked.back()->send_raw("GET /v1/test/slow HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (int i = 0; i < 500 && srv.slow_started < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  client c(srv.port());
  EXPECT_EQ(c.request(http::verb::get, "/v1/sys/health").result_int(), 200u);
  srv.release();
  for (auto& b : blocked) EXPECT_EQ(b->read_response().result_int(), 200u);
}

TEST(http_server, graceful_shutdown_finishes_requests_in_flight) {
  server_fixture srv;
  client idle(srv.port());
  EXPECT_EQ(idle.request(http::verb::get, "/v1/sys/health").result_int(), 200u);
  client busy(srv.port());
  busy.send_raw("GET /v1/test/slow HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 500 && srv.slow_started < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(srv.slow_started.load(), 1);

  std::atomic<bool> drained{false};
  srv.server().shutdown([&] { drained = true; });
  EXPECT_TRUE(idle.closed_by_server(std::chrono::seconds(5)));  // idle: closed at once
  EXPECT_FALSE(drained.load());                                 // busy: still in flight
  // No new connections are accepted.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    asio::io_context io;
    tcp::socket s(io);
    beast::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()), ec);
    EXPECT_TRUE(ec) << "a connection was accepted after shutdown";
  }
  srv.release();
  auto res = busy.read_response();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), R"({"slow":true})");
  EXPECT_FALSE(res.keep_alive());
  for (int i = 0; i < 500 && !drained; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(drained.load());
}

TEST(http_server, tls_listener) {
  const auto dir = std::filesystem::temp_directory_path() / ("credbroker-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
                          " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
  api::server_options o;
  o.tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  o.tls->use_certificate_chain_file(cert);
  o.tls->use_private_key_file(key, asio::ssl::context::pem);
  server_fixture srv(o);

  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(cert);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()));
  stream.handshake(asio::ssl::stream_base::client);
  http::request<http::string_body> req{http::verb::get, "/v1/sys/health", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json::parse(res.body())["sealed"], false);
  std::filesystem::remove_all(dir);
}

}  // namespace
