#pragma once
// socket_sink: the "socket" device's output — lines sent to a TCP, UDP or Unix stream socket.
//
//   socket_type tcp  (default) address "host:port"; one connection, lines streamed
//               udp  address "host:port"; one datagram per line
//               unix address = a socket path; a stream connection
//   write_timeout    (default 2s) bounds connecting and sending a batch, and how long a caller
//                    waits for its line
//
// A slow or dead peer must not stall the broker. So the socket belongs to one writer thread of
// this sink: callers only append to a bounded queue (submit) under queue_mu_, which is never held
// while connecting or sending. The writer takes every queued line (up to 256 KiB) as one batch and
// sends it with one send(2) per batch where the socket allows (tcp, unix), each line as its own
// datagram on udp. A failed batch is retried once on a new connection (Vault does the same per
// entry); if that fails too, every line of the batch fails. Before each batch a peer that hung up
// (readable end-of-file) is noticed and the connection replaced, so a gone listener fails lines at
// once instead of swallowing the first of them.
// A caller that waits (pending_write::wait, or write()) gives up at submit time + write_timeout; a
// line still queued then is dropped and reported failed. When the queue holds max_queue lines,
// submit fails at once. Lines nobody waits for (another device recorded the entry) are still sent
// in order, best effort.
// reopen() (SIGHUP) makes the writer reconnect before its next batch.
// Thread: submit/write/reopen from any thread; the descriptor is touched by the writer thread only.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "broker/audit/sink.hpp"

namespace credbroker::audit {

struct socket_settings {
  std::string address;
  std::string socket_type = "tcp";  // tcp | udp | unix
  std::chrono::milliseconds write_timeout{2000};
  std::size_t max_queue = 4096;
  std::string label;  // the device path, for the server log
};

class socket_sink final : public sink {
 public:
  // Checks the settings (the address is resolved and connected to by the writer, lazily).
  static result<std::unique_ptr<socket_sink>> open(socket_settings s);
  ~socket_sink() override;  // stops the writer; queued lines fail

  bool direct() const override { return false; }
  status write(std::string_view line) override;
  std::shared_ptr<pending_write> submit(std::string line) override;
  status reopen() override;

  // Lines that were not sent (failed, timed out, or refused by a full queue).
  std::uint64_t failed_lines() const;

 private:
  struct item;
  explicit socket_sink(socket_settings s);
  void run();
  status send_batch(const std::string& stream, const std::deque<std::string_view>& datagrams);
  status send_once(const std::string& stream, const std::deque<std::string_view>& datagrams);
  status connect_socket();
  void close_socket();
  bool peer_hung_up() const;

  const socket_settings settings_;
  mutable std::mutex queue_mu_;  // guards queue_, the items' states, stop_, reconnect_, failed_, last_error_
  std::condition_variable work_cv_;  // the writer waits for lines
  std::condition_variable done_cv_;  // callers wait for outcomes
  std::deque<std::shared_ptr<item>> queue_;
  bool stop_ = false;
  bool reconnect_ = false;
  std::uint64_t failed_ = 0;
  std::string last_error_;  // why the last failed batch failed
  int fd_ = -1;            // writer thread only
  bool failing_ = false;   // writer thread only: the last batch failed (log once per outage)
  std::thread writer_;
};

}  // namespace credbroker::audit
