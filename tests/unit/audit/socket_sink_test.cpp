// socket_sink against listeners in this process (loopback TCP, UDP, a Unix socket): lines arrive in
// order; a peer that is gone fails the next line at once with the reason; the sink reconnects when
// the peer is back; a peer that stops reading fails a line within write_timeout instead of blocking.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "broker/audit/socket_sink.hpp"
#include "broker/core/random.hpp"

using namespace credbroker;
using namespace credbroker::audit;

namespace {

// A listening socket on 127.0.0.1 (TCP or UDP) or a Unix path.
struct listener {
  int fd = -1;
  int port = 0;
  explicit listener(int type, int at_port = 0) {
    fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(at_port));
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    if (type == SOCK_STREAM) {
      EXPECT_EQ(::listen(fd, 8), 0);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  explicit listener(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
  }
  ~listener() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

// Reads from a connected stream until `n` newlines arrived.
std::string read_lines(int conn, int n) {
  std::string got;
  char buf[4096];
  while (std::count(got.begin(), got.end(), '\n') < n) {
    const ssize_t r = ::recv(conn, buf, sizeof buf, 0);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

std::unique_ptr<socket_sink> open_sink(const std::string& address, const std::string& type,
                                       std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  socket_settings s;
  s.address = address;
  s.socket_type = type;
  s.write_timeout = timeout;
  s.label = "socket/";
  auto r = socket_sink::open(s);
  EXPECT_TRUE(r);
  return std::move(*r);
}

TEST(socket_sink, settings_are_checked) {
  struct row {
    const char* address;
    const char* type;
    bool ok;
  };
  for (const auto& r : std::vector<row>{{"127.0.0.1:9090", "tcp", true},
                                        {"[::1]:9090", "udp", true},
                                        {"localhost:1", "tcp", true},
                                        {"/run/audit.sock", "unix", true},
                                        {"", "tcp", false},
                                        {"127.0.0.1", "tcp", false},
                                        {"127.0.0.1:port", "tcp", false},
                                        {"127.0.0.1:9090", "sctp", false}}) {
    SCOPED_TRACE(std::string(r.address) + " " + r.type);
    socket_settings s;
    s.address = r.address;
    s.socket_type = r.type;
    EXPECT_EQ(socket_sink::open(s).ok(), r.ok);
  }
}

TEST(socket_sink, tcp_lines_arrive_in_order_and_a_gone_peer_fails_at_once) {
  listener l(SOCK_STREAM);
  auto s = open_sink(l.address(), "tcp");
  EXPECT_FALSE(s->direct());
  ASSERT_TRUE(s->write("one\n"));
  auto p2 = s->submit("two\n");
  auto p3 = s->submit("three\n");
  const int conn = ::accept(l.fd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  EXPECT_TRUE(p2->wait());
  EXPECT_TRUE(p3->wait());
  EXPECT_EQ(read_lines(conn, 3), "one\ntwo\nthree\n");
  // The listener and the connection go away: the next line fails, with the reason.
  ::close(conn);
  l.close();
  const auto w = s->write("four\n");
  ASSERT_FALSE(w);
  EXPECT_NE(w.err().message.find("Connection refused"), std::string::npos) << w.err().message;
  EXPECT_GE(s->failed_lines(), 1u);
  // The peer comes back on the same port: the sink reconnects by itself.
  listener again(SOCK_STREAM, l.port);
  ASSERT_TRUE(s->write("five\n"));
  const int conn2 = ::accept(again.fd, nullptr, nullptr);
  ASSERT_GE(conn2, 0);
  EXPECT_EQ(read_lines(conn2, 1), "five\n");
  ::close(conn2);
}

TEST(socket_sink, udp_sends_one_datagram_per_line) {
  listener l(SOCK_DGRAM);
  auto s = open_sink(l.address(), "udp");
  ASSERT_TRUE(s->write("{\"a\":1}\n"));
  ASSERT_TRUE(s->write("{\"b\":2}\n"));
  char buf[256];
  for (const char* want : {"{\"a\":1}\n", "{\"b\":2}\n"}) {
    const ssize_t n = ::recv(l.fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), want);
  }
}

TEST(socket_sink, unix_stream_socket) {
  const auto path = std::filesystem::temp_directory_path() / ("cb-audit-" + random_alnum(8) + ".sock");
  listener l(path.string());
  auto s = open_sink(path.string(), "unix");
  ASSERT_TRUE(s->write("hello\n"));
  const int conn = ::accept(l.fd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  EXPECT_EQ(read_lines(conn, 1), "hello\n");
  ::close(conn);
  std::filesystem::remove(path);
}

TEST(socket_sink, a_peer_that_stops_reading_fails_a_line_within_write_timeout) {
  listener l(SOCK_STREAM);
  auto s = open_sink(l.address(), "tcp", std::chrono::milliseconds(300));
  ASSERT_TRUE(s->write("small\n"));
  const int conn = ::accept(l.fd, nullptr, nullptr);  // connected; nobody reads
  const auto started = std::chrono::steady_clock::now();
  const std::string huge(64 << 20, 'x');  // more than the socket buffers hold
  const auto w = s->write(huge + "\n");
  EXPECT_FALSE(w);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  if (conn >= 0) ::close(conn);
}

}  // namespace
