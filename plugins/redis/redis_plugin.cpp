#include "plugins/redis/redis_plugin.hpp"

#include <hiredis/hiredis.h>

#include <memory>

#include "broker/plugin/sanitize.hpp"

namespace credbroker::plugins::redis {
namespace {

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

result<std::string> required_string(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) {
    return make_error(errc::invalid_request, std::string(key) + " cannot be empty");
  }
  if (!it->is_string()) return make_error(errc::invalid_request, std::string(key) + " must be a string");
  return it->get<std::string>();
}

bool truthy(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    return s == "true" || s == "1" || s == "True" || s == "TRUE" || s == "t";
  }
  return false;
}

}  // namespace

result<plugin::initialize_response> redis_plugin::initialize(plugin::initialize_request req) {
  if (!req.config.is_object()) return make_error(errc::invalid_request, "config must be a JSON object");
  settings s;
  auto host = required_string(req.config, "host");
  if (!host) return std::move(host).err();
  auto it = req.config.find("port");
  if (it == req.config.end() || it->is_null()) return make_error(errc::invalid_request, "port cannot be empty");
  if (it->is_number_integer()) {
    s.port = it->get<int>();
  } else if (it->is_string()) {
    try {
      s.port = std::stoi(it->get<std::string>());
    } catch (const std::exception&) {
      return make_error(errc::invalid_request, "port must be an integer");
    }
  } else {
    return make_error(errc::invalid_request, "port must be an integer");
  }
  if (s.port < 1 || s.port > 65535) return make_error(errc::invalid_request, "port must be between 1 and 65535");
  auto user = required_string(req.config, "username");
  if (!user) return std::move(user).err();
  auto pass = required_string(req.config, "password");
  if (!pass) return std::move(pass).err();
  if (truthy(req.config, "tls")) {
    return make_error(errc::invalid_request,
                      "tls not supported by this build (Debian's hiredis 0.14 has no TLS support)");
  }
  if (auto t = req.config.find("connect_timeout"); t != req.config.end() && t->is_number_integer()) {
    s.connect_timeout_seconds = std::max(1, t->get<int>());
  }
  s.host = std::move(*host);
  s.username = std::move(*user);
  s.password = secret(std::move(*pass));
  {
    std::lock_guard lock(mu_);
    settings_ = std::move(s);
    initialized_ = true;
  }
  if (req.verify_connection) {
    if (auto v = verify(); !v) {
      return make_error(errc::unavailable, "error verifying connection: " + v.err().message);
    }
  }
  return plugin::initialize_response{req.config};
}

result<plugin::verify_response> redis_plugin::verify() {
  settings s;
  {
    std::lock_guard lock(mu_);
    if (!initialized_) return make_error(errc::internal, "plugin is not initialized");
    s = settings_;
  }
  const timeval tv{s.connect_timeout_seconds, 0};
  context_ptr c(redisConnectWithTimeout(s.host.c_str(), s.port, tv));
  if (!c) return make_error(errc::unavailable, "cannot allocate redis context");
  if (c->err) return make_error(errc::unavailable, plugin::sanitize(c->errstr, {&s.password}));
  redisSetTimeout(c.get(), tv);
  // hiredis formats each %s as one binary-safe argument: no quoting by hand.
  reply_ptr auth(static_cast<redisReply*>(
      redisCommand(c.get(), "AUTH %s %s", s.username.c_str(), s.password.reveal().c_str())));
  if (!auth) return make_error(errc::unavailable, plugin::sanitize(c->errstr, {&s.password}));
  if (auth->type == REDIS_REPLY_ERROR) {
    return make_error(errc::unavailable, plugin::sanitize(std::string(auth->str, auth->len), {&s.password}));
  }
  reply_ptr pong(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
  if (!pong) return make_error(errc::unavailable, plugin::sanitize(c->errstr, {&s.password}));
  if (pong->type != REDIS_REPLY_STATUS || std::string_view(pong->str, pong->len) != "PONG") {
    return make_error(errc::unavailable, "unexpected answer to PING");
  }
  return plugin::verify_response{};
}

result<plugin::close_response> redis_plugin::close() {
  std::lock_guard lock(mu_);
  initialized_ = false;
  settings_ = {};
  return plugin::close_response{};
}

}  // namespace credbroker::plugins::redis
