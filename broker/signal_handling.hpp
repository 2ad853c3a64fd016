#pragma once
// signal_handling: SIGTERM/SIGINT stop the timers, stop accepting, let requests in flight finish within
// shutdown_timeout; a second signal stops at once. SIGHUP reopens the audit devices.
// Thread: the handlers run on a strand of the io_context.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "api/http_server.hpp"
#include "broker/node/node.hpp"

namespace credbroker::server {

class signal_handling {
 public:
  signal_handling(boost::asio::io_context& io, api::http_server& server, node::node& n)
      : io_(io), server_(server), node_(n), control_(boost::asio::make_strand(io)), signals_(control_, SIGINT, SIGTERM),
        hangup_(control_, SIGHUP), deadline_(control_) {}

  void start() {
    wait_signal();
    wait_hangup();
  }
  int exit_code() const { return exit_code_; }

 private:
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (shutting_down_) {
        spdlog::warn("second signal {}: stopping now", signo);
        exit_code_ = 1;
        io_.stop();
        return;
      }
      shutting_down_ = true;
      node_.stop_timers();  // an armed timer would keep io.run() from returning
      spdlog::info("signal {} received: no new connections; finishing requests in flight", signo);
      const auto timeout = node_.config().shutdown_timeout;
      deadline_.expires_after(timeout);
      deadline_.async_wait([this, timeout](const boost::system::error_code& tec) {
        if (tec) return;
        spdlog::error("shutdown_timeout ({}s) reached with requests still in flight: stopping", timeout.count());
        exit_code_ = 1;
        io_.stop();
      });
      server_.shutdown([this] {
        boost::asio::post(control_, [this] {
          spdlog::info("all connections closed: exiting");
          boost::system::error_code ignored;
          signals_.cancel(ignored);
          hangup_.cancel(ignored);
          deadline_.cancel();
        });
      });
      wait_signal();
    });
  }
  void wait_hangup() {
    hangup_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP received: reopening the audit devices' files and sockets");
      node_.audit_devices().reopen();
      wait_hangup();
    });
  }

  boost::asio::io_context& io_;
  api::http_server& server_;
  node::node& node_;
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;  // reopens the audit devices
  boost::asio::steady_timer deadline_;
  int exit_code_ = 0;
  bool shutting_down_ = false;
};


}  // namespace credbroker::server
