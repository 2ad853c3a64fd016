#include "plugins/redis/redis_plugin.hpp"

#include <hiredis/hiredis.h>

#include <cctype>
#include <chrono>
#include <memory>

#include "broker/core/random.hpp"
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
    config_ = req.config;
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

result<redis_plugin::settings> redis_plugin::current() const {
  std::lock_guard lock(mu_);
  if (!initialized_) return make_error(errc::internal, "plugin is not initialized");
  return settings_;
}

result<redis_plugin::reply_view> redis_plugin::command(const std::vector<std::string>& argv,
                                                       const std::vector<const secret*>& extra) {
  auto s = current();
  if (!s) return std::move(s).err();
  std::vector<const secret*> scrub = extra;
  scrub.push_back(&s->password);
  const timeval tv{s->connect_timeout_seconds, 0};
  context_ptr c(redisConnectWithTimeout(s->host.c_str(), s->port, tv));
  if (!c) return make_error(errc::unavailable, "cannot allocate redis context");
  if (c->err) return make_error(errc::unavailable, plugin::sanitize(c->errstr, scrub));
  redisSetTimeout(c.get(), tv);
  reply_ptr auth(static_cast<redisReply*>(
      redisCommand(c.get(), "AUTH %s %s", s->username.c_str(), s->password.reveal().c_str())));
  if (!auth) return make_error(errc::unavailable, plugin::sanitize(c->errstr, scrub));
  if (auth->type == REDIS_REPLY_ERROR) {
    return make_error(errc::unavailable, plugin::sanitize(std::string(auth->str, auth->len), scrub));
  }
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  // Each argument travels as one binary-safe bulk string: nothing to quote.
  reply_ptr r(static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(args.size()), args.data(), lens.data())));
  if (!r) return make_error(errc::unavailable, plugin::sanitize(c->errstr, scrub));
  reply_view out;
  out.type = r->type;
  if (r->str != nullptr) out.str.assign(r->str, r->len);
  out.integer = r->integer;
  if (r->type == REDIS_REPLY_ERROR) return make_error(errc::internal, plugin::sanitize(out.str, scrub));
  return out;
}

result<std::string> redis_plugin::generate_username(const plugin::username_metadata& meta) {
  if (auto s = current(); !s) return std::move(s).err();
  auto part = [](std::string v, std::size_t n) {
    if (v.size() > n) v.resize(n);
    return v;
  };
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string name = "v_" + part(meta.display_name, 32) + "_" + part(meta.role_name, 32) + "_" + random_alnum(20) + "_" +
                     std::to_string(now);
  for (auto& c : name) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (c == ' ' || static_cast<unsigned char>(c) < 0x21) c = '_';
  }
  return name;
}

result<ok_t> redis_plugin::new_user(const plugin::new_user_request& req) {
  nlohmann::json rules = nlohmann::json::array({"~*", "+@read"});
  if (!req.statements.empty() && !req.statements.front().empty()) {
    try {
      rules = nlohmann::json::parse(req.statements.front());
    } catch (const nlohmann::json::exception& e) {
      return make_error(errc::invalid_request,
                        std::string("error unmarshalling REDIS rules in the creation statement JSON: ") + e.what());
    }
    if (!rules.is_array()) {
      return make_error(errc::invalid_request, "error unmarshalling REDIS rules in the creation statement JSON: expected an array of strings");
    }
  }
  std::vector<std::string> argv{"ACL", "SETUSER", req.username, "on", ">" + req.password.reveal()};
  for (const auto& r : rules) {
    if (!r.is_string()) {
      return make_error(errc::invalid_request, "error unmarshalling REDIS rules in the creation statement JSON: expected an array of strings");
    }
    argv.push_back(r.get<std::string>());
  }
  auto r = command(argv, {&req.password});
  if (!r) return std::move(r).err();
  return ok_v;
}

result<ok_t> redis_plugin::update_user(const plugin::update_user_request& req) {
  if (!req.password) return ok_v;  // expiry: nothing to do in Redis
  auto exists = user_exists(req.username);
  if (!exists) return std::move(exists).err();
  if (!*exists) return make_error(errc::invalid_request, "user not found");
  auto r = command({"ACL", "SETUSER", req.username, "RESETPASS", ">" + req.password->new_password.reveal()},
                   {&req.password->new_password});
  if (!r) return std::move(r).err();
  return ok_v;
}

result<ok_t> redis_plugin::delete_user(const plugin::delete_user_request& req) {
  auto r = command({"ACL", "DELUSER", req.username}, {});
  if (!r) return std::move(r).err();
  return ok_v;
}

result<bool> redis_plugin::user_exists(const std::string& username) {
  auto r = command({"ACL", "GETUSER", username}, {});
  if (!r) return std::move(r).err();
  return r->type != REDIS_REPLY_NIL;
}

result<plugin::initialize_response> redis_plugin::rotate_root(const plugin::rotate_root_request& req) {
  auto s = current();
  if (!s) return std::move(s).err();
  plugin::update_user_request u;
  u.username = s->username;
  u.password = plugin::change_password{req.new_password, req.statements};
  if (auto r = update_user(u); !r) return std::move(r).err();
  nlohmann::json cfg;
  {
    std::lock_guard lock(mu_);
    cfg = config_;
  }
  cfg["password"] = req.new_password.reveal();
  return initialize({cfg, true});
}

result<plugin::close_response> redis_plugin::close() {
  std::lock_guard lock(mu_);
  initialized_ = false;
  settings_ = {};
  return plugin::close_response{};
}

}  // namespace credbroker::plugins::redis
