#include "plugins/redis/redis_plugin.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <memory>

#include "broker/core/crash_point.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"
#include "broker/plugin/sanitize.hpp"
#include "broker/plugin/username_template.hpp"
#include "plugins/common/config_reader.hpp"
#include "plugins/redis/parsers.hpp"

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

constexpr std::chrono::seconds end_sessions_wait{10};

// The literal text before the first action of a username template ("V_" for the default names).
std::string literal_prefix(const std::string& tmpl) { return tmpl.substr(0, tmpl.find("{{")); }

}  // namespace

// One Redis server and its pool of authenticated connections.
struct redis_plugin::node_conn {
  context_ptr ctx;
  long long id = -1;
};

struct redis_plugin::node {
  std::string host;
  int port = 0;
  std::string username;
  std::string name() const { return host + ":" + std::to_string(port); }

  // An authenticated connection, named with the boot's tag, and its CLIENT ID (-1: unknown).
  using conn = node_conn;

  node_pool pool;  // its own lock, a leaf: never taken while mu is held, nor mu under it
  std::mutex mu;
  secret password;  // guarded by mu: rotate_root changes it under live calls
  // CLIENT IDs of connections lost while an ACL SETUSER was on them: Redis may still apply it, so
  // they are killed (CLIENT KILL ID) before the next command on this node.
  std::vector<long long> lost;
  bool warned_untagged = false;
};

struct redis_plugin::settings {
  std::vector<std::unique_ptr<node>> nodes;  // [0] is the primary
  int timeout_seconds = 5;
  std::size_t max_open = 8;
  std::string username_template;  // empty: Vault's Redis names
  bool persist = false;
  std::chrono::seconds persist_interval{10};
  std::string boot;  // this process's; connections are named plugin::session_tag(boot)
  std::string tag;
};

redis_plugin::~redis_plugin() { (void)close(); }

namespace {

// Names a fresh, authenticated connection with the boot's tag and learns its CLIENT ID, in one
// round trip. A Redis user without the right to CLIENT SETNAME / CLIENT ID works untagged (warned
// once per node); end_sessions cannot find such connections after a crash. Returns an I/O failure.
std::string name_connection(redis_plugin::node& n, redis_plugin::node::conn& c, const std::string& tag) {
  redisAppendCommand(c.ctx.get(), "CLIENT SETNAME %b", tag.data(), tag.size());
  redisAppendCommand(c.ctx.get(), "CLIENT ID");
  std::string refused;
  for (int i = 0; i < 2; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c.ctx.get(), &raw) != REDIS_OK || raw == nullptr) return c.ctx->errstr;
    reply_ptr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) refused = std::string(r->str, r->len);
    else if (i == 1 && r->type == REDIS_REPLY_INTEGER) c.id = r->integer;
  }
  if (!refused.empty()) {
    std::lock_guard lock(n.mu);
    if (!n.warned_untagged) {
      n.warned_untagged = true;
      spdlog::warn("redis {}: CLIENT SETNAME/ID refused ({}): after a crash the broker cannot end this process's "
                   "connections and keeps its pending leases pending; give the user +client", n.name(), refused);
    }
  }
  return {};
}

}  // namespace

result<plugin::initialize_response> redis_plugin::initialize(plugin::initialize_request req) {
  if (!req.config.is_object()) return make_error(errc::invalid_request, "config must be a JSON object");
  auto s = std::make_shared<settings>();
  auto primary = std::make_unique<node>();
  auto host = common::required_string(req.config, "host");
  if (!host) return std::move(host).err();
  auto pit = req.config.find("port");
  if (pit == req.config.end() || pit->is_null()) return make_error(errc::invalid_request, "port cannot be empty");
  auto port = common::port(*pit, "port");
  if (!port) return std::move(port).err();
  auto user = common::required_string(req.config, "username");
  if (!user) return std::move(user).err();
  auto pass = common::required_string(req.config, "password");
  if (!pass) return std::move(pass).err();
  if (common::flag(req.config, "tls")) {
    return make_error(errc::invalid_request, "tls not supported by this build (Debian's hiredis 0.14 has no TLS support)");
  }
  primary->host = std::move(*host);
  primary->port = *port;
  primary->username = *user;
  primary->password = secret(*pass);
  s->nodes.push_back(std::move(primary));
  if (auto it = req.config.find("replicas"); it != req.config.end() && !it->is_null()) {
    if (!it->is_array()) return make_error(errc::invalid_request, "replicas must be a list of \"host:port\" or {host, port}");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& r = (*it)[i];
      const std::string what = "replicas[" + std::to_string(i) + "]";
      auto n = std::make_unique<node>();
      n->username = *user;
      n->password = secret(*pass);
      if (r.is_string()) {
        const std::string hp = r.get<std::string>();
        const auto colon = hp.rfind(':');
        if (colon == std::string::npos || colon == 0) return make_error(errc::invalid_request, what + " must be \"host:port\"");
        n->host = hp.substr(0, colon);
        auto p = common::port(hp.substr(colon + 1), what + " port");
        if (!p) return std::move(p).err();
        n->port = *p;
      } else if (r.is_object()) {
        auto h = common::required_string(r, "host");
        if (!h) return make_error(errc::invalid_request, what + ": " + h.err().message);
        n->host = *h;
        auto rp = r.find("port");
        if (rp == r.end()) return make_error(errc::invalid_request, what + ": port cannot be empty");
        auto p = common::port(*rp, what + " port");
        if (!p) return std::move(p).err();
        n->port = *p;
        if (auto u = r.find("username"); u != r.end() && u->is_string()) n->username = u->get<std::string>();
        if (auto pw = r.find("password"); pw != r.end() && pw->is_string()) n->password = secret(pw->get<std::string>());
      } else {
        return make_error(errc::invalid_request, what + " must be \"host:port\" or {host, port}");
      }
      for (const auto& existing : s->nodes) {
        if (existing->name() == n->name()) return make_error(errc::invalid_request, what + " repeats " + n->name());
      }
      s->nodes.push_back(std::move(n));
    }
  }
  auto timeout = common::integer_in(req.config, "connect_timeout", 5, 1, 300);
  if (!timeout) return std::move(timeout).err();
  s->timeout_seconds = static_cast<int>(*timeout);
  auto max_open = common::integer_in(req.config, "max_open_connections", 8, 1, 1024);
  if (!max_open) return std::move(max_open).err();
  s->max_open = static_cast<std::size_t>(*max_open);
  auto tmpl = common::optional_string(req.config, "username_template");
  if (!tmpl) return std::move(tmpl).err();
  s->username_template = std::move(*tmpl);
  if (!s->username_template.empty()) {
    if (auto v = plugin::validate_template(s->username_template); !v) {
      return make_error(errc::invalid_request, "invalid username template: " + v.err().message);
    }
  }
  std::string mode = "none";
  if (auto it = req.config.find("persistence_mode"); it != req.config.end() && !it->is_null()) {
    if (!it->is_string()) return make_error(errc::invalid_request, "persistence_mode must be \"none\" or \"aclfile\"");
    mode = it->get<std::string>();
    for (auto& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (mode != "none" && mode != "aclfile") {
    return make_error(errc::invalid_request, "persistence_mode must be \"none\" or \"aclfile\"");
  }
  s->persist = mode == "aclfile";
  if (auto it = req.config.find("persistence_interval"); it != req.config.end() && !it->is_null()) {
    auto d = parse_duration_value(*it);
    if (!d || d->count() < 1) return make_error(errc::invalid_request, "persistence_interval must be a duration of at least 1s");
    s->persist_interval = *d;
  }
  if (auto it = req.config.find("reconcile_interval"); it != req.config.end() && !it->is_null()) {
    if (auto d = parse_duration_value(*it); !d) return make_error(errc::invalid_request, "reconcile_interval must be a duration");
  }
  s->boot = req.boot_id;
  s->tag = plugin::session_tag(req.boot_id);
  common::pool_limits limits;
  limits.max_open = s->max_open;
  limits.max_idle = s->max_open;  // every healthy connection stays; none is reaped
  for (const auto& n : s->nodes) n->pool.open(limits);

  stop_saver();  // a re-initialisation replaces everything
  {
    // The previous pools are not closed: calls in flight (or waiting for one of their connections)
    // finish on them, and they are freed with the last call that holds them.
    std::lock_guard lock(mu_);
    settings_ = s;
    config_ = req.config;
  }
  if (s->persist) {
    std::lock_guard lock(save_mu_);
    stop_saving_ = false;
    dirty_ = false;
    saver_ = std::thread([this] { saver_loop(); });
  }
  if (req.verify_connection) {
    if (auto v = verify(); !v) return make_error(errc::unavailable, "error verifying connection: " + v.err().message);
  }
  return plugin::initialize_response{req.config};
}

result<std::shared_ptr<const redis_plugin::settings>> redis_plugin::current() const {
  std::lock_guard lock(mu_);
  if (!settings_) return make_error(errc::internal, "plugin is not initialized");
  return settings_;
}

plugin::pool_stats redis_plugin::pool() const {
  std::shared_ptr<const settings> s;
  {
    std::lock_guard lock(mu_);
    s = settings_;
  }
  plugin::pool_stats p;
  if (!s) return p;
  for (const auto& n : s->nodes) {
    const auto c = n->pool.counts();
    p.open += c.open;
    p.in_use += c.in_use;
    p.waiters += c.waiters;
    p.max_open += s->max_open;
  }
  return p;
}

result<redis_plugin::reply_view> redis_plugin::command(const settings& s, std::size_t i,
                                                       const std::vector<std::string>& argv,
                                                       const std::vector<const secret*>& extra, bool creates) {
  node& n = *s.nodes[i];
  secret login;  // the password this call logs in with (rotate_root may change the node's meanwhile)
  std::vector<const secret*> scrub = extra;
  scrub.push_back(&login);
  const timeval tv{s.timeout_seconds, 0};
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  for (int attempt = 0;; ++attempt) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.timeout_seconds);
    auto got = n.pool.acquire(deadline);
    if (got.refused == node_pool::refusal::timed_out) {
      return make_error(errc::unavailable, n.name() + ": timed out after " + std::to_string(s.timeout_seconds) +
                                               "s waiting for a connection (max_open_connections=" +
                                               std::to_string(s.max_open) + ")");
    }
    if (!got) return make_error(errc::internal, "plugin is closed");
    node::conn c = std::move(got.e.session);
    std::vector<long long> lost;
    {
      std::lock_guard lock(n.mu);
      lost = n.lost;
    }
    // Gives the connection back (kept = healthy) and wakes one waiter.
    auto release = [&n, slot = std::move(got.e)](node::conn conn, bool keep) mutable {
      slot.session = std::move(conn);
      (void)n.pool.give_back(std::move(slot), !keep);
    };
    if (!c.ctx) {
      c.ctx.reset(redisConnectWithTimeout(n.host.c_str(), n.port, tv));
      std::string failure;
      if (!c.ctx) {
        failure = "cannot allocate a redis context";
      } else if (c.ctx->err) {
        failure = c.ctx->errstr;
      } else {
        redisSetTimeout(c.ctx.get(), tv);
        // A refused AUTH is tried again when the node's password changed meanwhile: a root rotation
        // that ran between reading the password and sending it must not fail this call.
        for (;;) {
          secret was = login;
          {
            std::lock_guard lock(n.mu);
            login = n.password;
          }
          if (!failure.empty() && login == was) break;  // refused, and still the same password
          failure.clear();
          reply_ptr auth(static_cast<redisReply*>(redisCommand(c.ctx.get(), "AUTH %b %b", n.username.data(), n.username.size(),
                                                               login.reveal().data(), login.reveal().size())));
          if (!auth) {
            failure = c.ctx->errstr;
            break;
          }
          if (auth->type != REDIS_REPLY_ERROR) break;
          failure = std::string(auth->str, auth->len);
        }
        if (failure.empty()) failure = name_connection(n, c, s.tag);
      }
      if (!failure.empty()) {
        release({}, false);
        return make_error(errc::unavailable, n.name() + ": " + plugin::sanitize(failure, scrub));
      }
    }
    // A connection lost under an ACL SETUSER may still have it queued: kill it first, so nothing
    // that could see the outcome (a retry, user_exists, the rollback's DELUSER) runs before.
    for (long long id : lost) {
      reply_ptr k(static_cast<redisReply*>(redisCommand(c.ctx.get(), "CLIENT KILL ID %lld", id)));
      if (!k || k->type == REDIS_REPLY_ERROR) {
        const std::string why = k ? std::string(k->str, k->len) : std::string(c.ctx->errstr);
        release(k ? std::move(c) : node::conn{}, k != nullptr);
        return make_error(errc::unavailable, n.name() + ": a connection lost during ACL SETUSER could not be killed: " +
                                                 plugin::sanitize(why, scrub));
      }
      std::lock_guard lock(n.mu);
      std::erase(n.lost, id);
    }
    // Each argument travels as one binary-safe bulk string: nothing to quote.
    reply_ptr r(static_cast<redisReply*>(
        redisCommandArgv(c.ctx.get(), static_cast<int>(args.size()), args.data(), lens.data())));
    if (!r) {
      const std::string failure = c.ctx->errstr;
      if (creates && c.id >= 0) {
        std::lock_guard lock(n.mu);
        n.lost.push_back(c.id);
      }
      release({}, false);  // the connection is broken
      if (attempt == 0) continue;  // Redis restarted or the connection idled out: once more, fresh
      return make_error(errc::unavailable, n.name() + ": " + plugin::sanitize(failure, scrub));
    }
    reply_view out;
    out.type = r->type;
    if (r->str != nullptr) out.str.assign(r->str, r->len);
    out.integer = r->integer;
    if (r->type == REDIS_REPLY_ARRAY) {
      for (std::size_t e = 0; e < r->elements; ++e) {
        const redisReply* el = r->element[e];
        if (el != nullptr && el->str != nullptr) out.elements.emplace_back(el->str, el->len);
      }
    }
    release(std::move(c), true);
    if (out.type == REDIS_REPLY_ERROR) return make_error(errc::internal, n.name() + ": " + plugin::sanitize(out.str, scrub));
    return out;
  }
}

result<ok_t> redis_plugin::on_every_node(const settings& s, const std::vector<std::string>& argv,
                                         const std::vector<const secret*>& secrets, const char* what) {
  std::string failed, done;
  for (std::size_t i = 0; i < s.nodes.size(); ++i) {
    if (auto r = command(s, i, argv, secrets); !r) {
      failed += (failed.empty() ? "" : "; ") + r.err().message;
    } else {
      done += (done.empty() ? "" : ", ") + s.nodes[i]->name();
    }
  }
  if (failed.empty()) return ok_v;
  if (s.nodes.size() == 1) return make_error(errc::unavailable, failed);
  return make_error(errc::unavailable, std::string(what) + " failed on " + failed + (done.empty() ? "" : " (done on " + done + ")"));
}

static bool logs_in(const std::string& host, int port, const std::string& username, const secret& password, int timeout);

// A PING on the pool, then a fresh login per node: pooled sessions stay logged in after the root
// password changed behind the broker's back, so only a new one proves the config still works.
result<plugin::verify_response> redis_plugin::verify() {
  auto s = current();
  if (!s) return std::move(s).err();
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    auto pong = command(**s, i, {"PING"}, {});
    if (!pong) return std::move(pong).err();
    node& n = *(*s)->nodes[i];
    if (pong->str != "PONG") return make_error(errc::unavailable, n.name() + ": unexpected answer to PING");
    std::string user;
    secret password;
    {
      std::lock_guard lock(n.mu);
      user = n.username;
      password = n.password;
    }
    if (!logs_in(n.host, n.port, user, password, (*s)->timeout_seconds)) {
      return make_error(errc::unavailable, n.name() + ": a fresh login with the configured credentials fails");
    }
  }
  return plugin::verify_response{};
}

result<std::string> redis_plugin::generate_username(const plugin::username_metadata& meta) {
  auto s = current();
  if (!s) return std::move(s).err();
  std::string name;
  if (!(*s)->username_template.empty()) {
    auto r = plugin::render_template((*s)->username_template, {meta.display_name, meta.role_name});
    if (!r) return make_error(errc::invalid_request, "unable to generate username: " + r.err().message);
    name = std::move(*r);
    if (name.empty()) return make_error(errc::invalid_request, "unable to generate username: the template produced an empty name");
    for (unsigned char c : name) {
      if (c <= 0x20 || c == 0x7f) {
        return make_error(errc::invalid_request, "unable to generate username: Redis usernames cannot contain spaces or control characters");
      }
    }
    return name;
  }
  // Vault's Redis names, V_<DISPLAY>_<ROLE>_<20 random>_<unix seconds>, upper case. Display and role
  // are cut to 32 bytes each so the random part always fits (Vault cuts the whole name at 100).
  auto part = [](std::string v) {
    if (v.size() > 32) v.resize(32);
    return v;
  };
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  name = "v_" + part(meta.display_name) + "_" + part(meta.role_name) + "_" + random_alnum(20) + "_" + std::to_string(now);
  for (auto& c : name) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) c = '_';
  }
  return name;
}

result<ok_t> redis_plugin::new_user(const plugin::new_user_request& req) {
  auto s = current();
  if (!s) return std::move(s).err();
  auto rules = parse_acl_rules(req.statements);
  if (!rules) return std::move(rules).err();
  std::vector<std::string> argv{"ACL", "SETUSER", req.username, "on", acl_password(req.password.reveal())};
  argv.insert(argv.end(), rules->begin(), rules->end());
  // The primary first: a rule Redis refuses fails there before any replica is touched.
  if (auto r = command(**s, 0, argv, {&req.password}, true); !r) {
    if (r.err().code == make_error_code(errc::internal)) return make_error(errc::invalid_request, r.err().message);
    return std::move(r).err();
  }
  changed();
  for (std::size_t i = 1; i < (*s)->nodes.size(); ++i) {
    if (auto r = command(**s, i, argv, {&req.password}, true); !r) {
      return make_error(errc::unavailable, "ACL SETUSER failed on " + r.err().message + " (done on " +
                                               (*s)->nodes[0]->name() + "; the engine removes it again)");
    }
  }
  return ok_v;
}

result<ok_t> redis_plugin::update_user(const plugin::update_user_request& req) {
  if (!req.password) return ok_v;  // expiry: Redis users do not expire
  auto s = current();
  if (!s) return std::move(s).err();
  auto exists = command(**s, 0, {"ACL", "GETUSER", req.username}, {});
  if (!exists) return std::move(exists).err();
  if (exists->type == REDIS_REPLY_NIL) return make_error(errc::invalid_request, "user not found");
  auto r = on_every_node(**s, {"ACL", "SETUSER", req.username, "RESETPASS", acl_password(req.password->new_password.reveal())},
                         {&req.password->new_password}, "ACL SETUSER");
  if (r) changed();
  return r;
}

result<ok_t> redis_plugin::delete_user(const plugin::delete_user_request& req) {
  auto s = current();
  if (!s) return std::move(s).err();
  // DELUSER of an absent user answers 0: idempotent on every node.
  auto r = on_every_node(**s, {"ACL", "DELUSER", req.username}, {}, "ACL DELUSER");
  changed();
  return r;
}

result<bool> redis_plugin::user_on_every_node(const std::string& username, bool present) {
  auto s = current();
  if (!s) return std::move(s).err();
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    auto r = command(**s, i, {"ACL", "GETUSER", username}, {});
    if (!r) return std::move(r).err();
    if ((r->type != REDIS_REPLY_NIL) != present) return false;  // the first node that differs answers
  }
  return true;
}

result<bool> redis_plugin::user_exists(const std::string& username) {
  // Complete means on every node; a user on some nodes only was cut half-way by a crash.
  return user_on_every_node(username, true);
}

result<bool> redis_plugin::user_gone(const std::string& username) { return user_on_every_node(username, false); }

result<ok_t> redis_plugin::end_sessions(const std::string& boot) {
  auto s = current();
  if (!s) return std::move(s).err();
  if (boot == (*s)->boot) return make_error(errc::internal, "refusing to end this process's own connections");
  // Versions before boot ids left their connections unnamed: there is nothing to find them by.
  if (boot.empty()) return ok_v;
  const std::string tag = plugin::session_tag(boot);
  // Per node: kill the clients with the tag, until CLIENT LIST shows none. Redis runs commands one
  // at a time, so once a client is killed nothing it sent can still be applied (what it had read
  // has run; what was still in flight meets a closed socket).
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    const auto deadline = std::chrono::steady_clock::now() + end_sessions_wait;
    for (;;) {
      auto list = command(**s, i, {"CLIENT", "LIST", "TYPE", "normal"}, {});
      if (!list) return make_error(errc::unavailable, "ending the connections of \"" + tag + "\": " + list.err().message);
      const auto ids = client_ids_named(list->str, tag);
      if (ids.empty()) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return make_error(errc::unavailable, (*s)->nodes[i]->name() + ": " + std::to_string(ids.size()) +
                                                 " connection(s) of \"" + tag + "\" still there after CLIENT KILL");
      }
      for (const auto& id : ids) {
        if (auto k = command(**s, i, {"CLIENT", "KILL", "ID", id}, {}); !k) {
          return make_error(errc::unavailable, "ending the connections of \"" + tag + "\": " + k.err().message);
        }
      }
    }
  }
  return ok_v;
}

result<plugin::user_listing> redis_plugin::list_users() {
  auto s = current();
  if (!s) return std::move(s).err();
  plugin::user_listing out;
  out.prefix = (*s)->username_template.empty() ? "V_" : literal_prefix((*s)->username_template);
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    auto r = command(**s, i, {"ACL", "USERS"}, {});  // names only: cheap, unlike ACL LIST
    if (!r) return std::move(r).err();
    std::vector<std::string> mine;
    for (auto& u : r->elements) {
      if (!out.prefix.empty() && u.compare(0, out.prefix.size(), out.prefix) == 0) mine.push_back(std::move(u));
    }
    out.nodes.emplace_back((*s)->nodes[i]->name(), std::move(mine));
  }
  return out;
}

// Whether `password` logs in as `username` on host:port (a fresh connection, not the pool).
static bool logs_in(const std::string& host, int port, const std::string& username, const secret& password, int timeout) {
  const timeval tv{timeout, 0};
  context_ptr c(redisConnectWithTimeout(host.c_str(), port, tv));
  if (!c || c->err) return false;
  redisSetTimeout(c.get(), tv);
  reply_ptr auth(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %b %b", username.data(), username.size(),
                                                       password.reveal().data(), password.reveal().size())));
  return auth && auth->type != REDIS_REPLY_ERROR;
}

result<plugin::initialize_response> redis_plugin::rotate_root(const plugin::rotate_root_request& req) {
  auto s = current();
  if (!s) return std::move(s).err();
  auto password_of = [](node& n) {
    std::lock_guard lock(n.mu);
    return n.password;
  };
  node& primary = *(*s)->nodes[0];
  const std::string user = primary.username;
  const secret old = password_of(primary);
  for (std::size_t i = 1; i < (*s)->nodes.size(); ++i) {
    node& n = *(*s)->nodes[i];
    if (n.username != user || !(password_of(n) == old)) {
      return make_error(errc::invalid_request, "rotate-root needs every node to use the primary's credentials (" + n.name() +
                                                   " has its own)");
    }
  }
  std::vector<const secret*> scrub{&req.new_password, &old};
  // 1. Add the new password on every node; the old one keeps working, so nothing in flight breaks.
  //    A fresh login with the new one proves each node has it (also where the SETUSER failed because
  //    a run that was cut had already rotated that node); the pool cannot prove it: its sessions are
  //    logged in already.
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    const node& n = *(*s)->nodes[i];
    auto r = command(**s, i, {"ACL", "SETUSER", user, acl_password(req.new_password.reveal())}, scrub);
    if (!logs_in(n.host, n.port, user, req.new_password, (*s)->timeout_seconds)) {
      for (std::size_t j = 0; j <= i; ++j) {  // leave things as they were
        (void)command(**s, j, {"ACL", "SETUSER", user, acl_password_removal(req.new_password.reveal())}, scrub);
      }
      const std::string why = r ? n.name() + ": the new password does not log in" : r.err().message;
      return make_error(errc::unavailable, "root rotation failed on " + why + "; the old password still works");
    }
    if (i == 0) crash_point("redis-rotate-root:after-first-node");
  }
  // 2. New connections log in with the new password from now on. The nodes are changed in place,
  //    not replaced, so a call that already holds these settings logs in with the new one too;
  //    pooled connections stay logged in (Redis keeps a session when a password is removed).
  for (const auto& n : (*s)->nodes) {
    std::lock_guard lock(n->mu);
    n->password = req.new_password;
  }
  nlohmann::json cfg;
  {
    std::lock_guard lock(mu_);
    config_["password"] = req.new_password.reveal();
    cfg = config_;
  }
  // 3. Remove the old password everywhere (a node that had lost it already answers "does not exist").
  crash_point("redis-rotate-root:before-removing-old");
  for (std::size_t i = 0; i < (*s)->nodes.size(); ++i) {
    auto r = command(**s, i, {"ACL", "SETUSER", user, acl_password_removal(old.reveal())}, scrub);
    if (!r && r.err().message.find("does not exist") == std::string::npos) {
      spdlog::warn("root rotation: the old password could not be removed on {}: {}", (*s)->nodes[i]->name(), r.err().message);
    }
  }
  changed();
  return plugin::initialize_response{cfg};
}

void redis_plugin::changed() {
  {
    std::lock_guard lock(save_mu_);
    if (!saver_.joinable() || dirty_) return;
    dirty_ = true;
  }
  save_cv_.notify_one();
}

std::size_t redis_plugin::saves() const {
  std::lock_guard lock(save_mu_);
  return saves_;
}

void redis_plugin::saver_loop() {
  std::unique_lock lock(save_mu_);
  auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    save_cv_.wait(lock, [&] { return stop_saving_ || dirty_; });
    auto s = current();
    if (!s) return;
    if (!stop_saving_) {
      // At most one save per interval: changes meanwhile join the next one.
      save_cv_.wait_until(lock, last + (*s)->persist_interval, [&] { return stop_saving_; });
    }
    if (!dirty_) return;  // stopping with nothing to save
    dirty_ = false;
    lock.unlock();
    auto r = on_every_node(**s, {"ACL", "SAVE"}, {}, "ACL SAVE");
    lock.lock();
    ++saves_;
    last = std::chrono::steady_clock::now();
    if (!r) {
      spdlog::error("redis persistence (ACL SAVE): {}", r.err().message);
      dirty_ = true;  // retried at the next interval
    }
    if (stop_saving_) return;
  }
}

void redis_plugin::stop_saver() {
  {
    std::lock_guard lock(save_mu_);
    stop_saving_ = true;
  }
  save_cv_.notify_all();
  if (saver_.joinable()) saver_.join();  // saves what is still unsaved first
}

result<plugin::close_response> redis_plugin::close() {
  stop_saver();
  std::shared_ptr<const settings> old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(settings_, nullptr);
  }
  if (old) {
    for (const auto& n : old->nodes) n->pool.close();
  }
  return plugin::close_response{};
}

}  // namespace credbroker::plugins::redis
