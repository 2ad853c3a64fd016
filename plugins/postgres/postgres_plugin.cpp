#include "plugins/postgres/postgres_plugin.hpp"

#include <pqxx/pqxx>

#include <cstdio>
#include <thread>

#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"
#include "broker/plugin/sanitize.hpp"
#include "broker/plugin/username_template.hpp"
#include "plugins/common/config_reader.hpp"
#include "plugins/postgres/statements.hpp"

namespace credbroker::plugins::postgres {

struct pg_session {
  explicit pg_session(const std::string& conninfo) : c(conninfo) {
    pid = c.backendpid();
    pqxx::nontransaction tx(c);
    const auto r = tx.exec("SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()");
    if (!r.empty()) backend_start = r[0][0].c_str();
  }
  pqxx::connection c;
  int pid = 0;                // the backend, and when it started: identify it if the session breaks
  std::string backend_start;
};

namespace {

constexpr std::size_t max_identifier = 63;
constexpr std::int64_t max_scram_iterations = 1'000'000;  // PBKDF2 at 1M: ~0.5 s of CPU per password

quoting quoting_of(pqxx::connection& c) {
  // libpq's escaping doubles a backslash only when the session has standard_conforming_strings off.
  const bool standard = c.esc("\\") == "\\";
  return {[&c](std::string_view v) { return c.quote(std::string(v)); },
          [&c](std::string_view v) { return c.quote_name(std::string(v)); }, standard};
}

// A failure the same transaction can succeed after, run again: serialization failure, deadlock,
// and "tuple concurrently updated" (concurrent GRANT/REVOKE on one object update its catalog row).
bool transient(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  return state == "40001" || state == "40P01" ||
         (state == "XX000" && std::string_view(e.what()).find("tuple concurrently updated") != std::string_view::npos);
}

constexpr int max_attempts = 5;

// Holds the gate for one attempt: shared for a first attempt, exclusive for a retry.
class admitted {
 public:
  admitted(conflict_gate& g, bool alone) : g_(g), alone_(alone) {
    std::unique_lock lock(g_.mu);
    if (alone_) {
      // Bounded: a transaction of ours stuck behind someone else's lock must not stall the others.
      ++g_.waiting;
      alone_ = g_.cv.wait_for(lock, std::chrono::seconds(1), [&] { return !g_.exclusive && g_.shared == 0; });
      --g_.waiting;
      if (alone_) g_.exclusive = true;
      else ++g_.shared;
      if (!alone_) g_.cv.notify_all();  // the shared ones held back by our waiting go on
    } else {
      g_.cv.wait(lock, [&] { return !g_.exclusive && g_.waiting == 0; });
      ++g_.shared;
    }
  }
  ~admitted() {
    {
      std::lock_guard lock(g_.mu);
      if (alone_) g_.exclusive = false;
      else --g_.shared;
    }
    g_.cv.notify_all();
  }
  admitted(const admitted&) = delete;
  admitted& operator=(const admitted&) = delete;

 private:
  conflict_gate& g_;
  bool alone_;
};

// Runs f (one transaction) up to max_attempts times while it fails transiently, sleeping 20 ms,
// 40 ms, 80 ms, 160 ms between attempts, each cut to a random 50-100 %; retries run alone.
template <class F>
void retrying(conflict_gate& gate, F&& f) {
  for (int attempt = 1;; ++attempt) {
    try {
      admitted turn(gate, attempt > 1);
      f();
      return;
    } catch (const pqxx::sql_error& e) {
      if (!transient(e) || attempt >= max_attempts) throw;
      const auto full = std::chrono::milliseconds(20 << (attempt - 1));
      const auto b = random_bytes(1);
      std::this_thread::sleep_for(full / 2 + full * b[0] / 510);
    }
  }
}

// Runs statements as ONE simple-query message: PostgreSQL executes a multi-statement query string as
// a single implicit transaction (all or nothing; a failure rolls back and leaves the session clean),
// so creation costs one round trip instead of BEGIN + one per statement + COMMIT. Transient
// conflicts run it again.
void exec_atomically(conflict_gate& gate, pqxx::connection& c, const std::vector<std::string>& statements) {
  std::string sql;
  for (const auto& st : statements) {
    sql += st;
    sql += ";\n";
  }
  retrying(gate, [&] {
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  });
}

// The database refused a login because it has no connection slot left for us.
bool lack_of_slots(std::string_view message) {
  return message.find("too many clients") != std::string_view::npos ||
         message.find("remaining connection slots are reserved") != std::string_view::npos;
}

constexpr std::chrono::minutes keep_no_idle_after_refusal{1};
constexpr std::chrono::seconds end_backends_wait{10};

// pqxx reports a dead session in several ways; all mean "replace the connection".
bool broken(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
}

}  // namespace

common::pool_limits postgres_plugin::limits_of(const settings& s) {
  common::pool_limits l;
  l.max_open = s.max_open;
  l.max_idle = s.max_idle;
  l.max_lifetime = s.max_lifetime;
  l.max_idle_time = s.max_idle_time;
  return l;
}

class postgres_plugin::checkout {
 public:
  checkout(postgres_plugin* owner, pooled p) : owner_(owner), p_(std::move(p)) {}
  checkout(checkout&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), p_(std::move(o.p_)), broken_(o.broken_) {}
  checkout& operator=(checkout&&) = delete;
  ~checkout() {
    if (owner_ != nullptr) owner_->give_back(std::move(p_), broken_);
  }
  pqxx::connection& conn() { return p_.session->c; }
  const pg_session& session() const { return *p_.session; }
  void mark_broken() { broken_ = true; }

 private:
  postgres_plugin* owner_;
  pooled p_;
  bool broken_ = false;
};

postgres_plugin::postgres_plugin() : reaper_([this](common::pool_reaper::time_point now) { return pool_.reap(now); }) {}

postgres_plugin::~postgres_plugin() {
  (void)close();
  reaper_.stop();
}

std::shared_ptr<const postgres_plugin::settings> postgres_plugin::current() const {
  std::lock_guard lock(mu_);
  return settings_;
}

plugin::pool_stats postgres_plugin::pool() const {
  const auto c = pool_.counts();
  plugin::pool_stats p;
  p.open = c.open;
  p.in_use = c.in_use;
  p.waiters = c.waiters;
  p.max_open = c.max_open;
  return p;
}

std::size_t postgres_plugin::open_connections() const { return pool_.counts().open; }

result<plugin::initialize_response> postgres_plugin::initialize(plugin::initialize_request req) {
  if (!req.config.is_object()) return make_error(errc::invalid_request, "config must be a JSON object");
  auto s = std::make_shared<settings>();
  auto url = common::optional_string(req.config, "connection_url");
  if (!url) return std::move(url).err();
  if (url->empty()) return make_error(errc::invalid_request, "connection_url cannot be empty");
  auto user = common::optional_string(req.config, "username");
  if (!user) return std::move(user).err();
  auto pass = common::optional_string(req.config, "password");
  if (!pass) return std::move(pass).err();
  for (const std::string* v : {&*user, &*pass}) {
    if (v->find("{{username}}") != std::string::npos || v->find("{{password}}") != std::string::npos) {
      return make_error(errc::invalid_request, "username and/or password cannot contain the template variables");
    }
  }
  auto max_open = common::integer(req.config, "max_open_connections", 4);
  if (!max_open) return std::move(max_open).err();
  if (*max_open < 1) return make_error(errc::invalid_request, "max_open_connections must be at least 1");
  auto max_idle = common::integer(req.config, "max_idle_connections", 0);
  if (!max_idle) return std::move(max_idle).err();
  if (*max_idle < 0) return make_error(errc::invalid_request, "max_idle_connections cannot be negative");
  auto timeout = common::integer(req.config, "connect_timeout", 10);
  if (!timeout) return std::move(timeout).err();
  if (*timeout < 1) return make_error(errc::invalid_request, "connect_timeout must be at least 1 second");
  auto lifetime = common::duration(req.config, "max_connection_lifetime", std::chrono::seconds(0));
  if (!lifetime) return std::move(lifetime).err();
  auto idle_time = common::duration(req.config, "max_connection_idle_time", std::chrono::seconds(300));
  if (!idle_time) return std::move(idle_time).err();
  auto tmpl = common::optional_string(req.config, "username_template");
  if (!tmpl) return std::move(tmpl).err();
  if (!tmpl->empty()) {
    if (auto v = plugin::validate_template(*tmpl); !v) {
      return make_error(errc::invalid_request, "invalid username template: " + v.err().message);
    }
  }
  auto auth = common::optional_string(req.config, "password_authentication");
  if (!auth) return std::move(auth).err();
  if (!auth->empty() && *auth != "password" && *auth != "scram-sha-256") {
    return make_error(errc::invalid_request, "'password_authentication' must be one of \"password\" or \"scram-sha-256\"");
  }
  auto iterations = common::integer(req.config, "scram_iterations", default_scram_iterations);
  if (!iterations) return std::move(iterations).err();
  if (auto it = req.config.find("scram_iterations"); it != req.config.end() && !it->is_null() && *auth != "scram-sha-256") {
    return make_error(errc::invalid_request, "scram_iterations applies only with password_authentication=scram-sha-256");
  }
  if (*iterations < 1 || *iterations > max_scram_iterations) {
    return make_error(errc::invalid_request,
                      "scram_iterations must be between 1 and " + std::to_string(max_scram_iterations));
  }
  s->conn.url = std::move(*url);
  s->conn.username = std::move(*user);
  s->conn.password = secret(std::move(*pass));
  s->conn.connect_timeout_seconds = static_cast<int>(*timeout);
  s->conn.application_name = plugin::session_tag(req.boot_id);
  s->boot = req.boot_id;
  if (auto it = req.config.find("disable_escaping"); it != req.config.end() && it->is_boolean()) {
    s->conn.disable_escaping = it->get<bool>();
  }
  if (auto rendered = render_connection_string(s->conn); !rendered) return std::move(rendered).err();
  s->max_open = static_cast<std::size_t>(*max_open);
  s->max_idle = *max_idle == 0 ? s->max_open : std::min<std::size_t>(static_cast<std::size_t>(*max_idle), s->max_open);
  s->max_lifetime = *lifetime;
  s->max_idle_time = *idle_time;
  s->username_template = tmpl->empty() ? std::string(plugin::default_postgres_username_template) : *tmpl;
  s->scram = *auth == "scram-sha-256";
  s->scram_iterations = static_cast<int>(*iterations);
  s->config = req.config;
  s->config["max_open_connections"] = *max_open;
  {
    std::lock_guard lock(mu_);
    settings_ = s;
  }
  pool_.open(limits_of(*s));  // a new generation: sessions of the previous settings close
  reaper_.start();
  if (req.verify_connection) {
    if (auto v = verify(); !v) return make_error(errc::unavailable, "error verifying connection: " + v.err().message);
  }
  return plugin::initialize_response{s->config};
}

result<postgres_plugin::checkout> postgres_plugin::acquire() {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s->conn.connect_timeout_seconds);
  auto got = pool_.acquire(deadline, [](const std::unique_ptr<pg_session>& c) { return c->c.is_open(); });
  switch (got.refused) {
    case session_pool::refusal::none:
      break;
    case session_pool::refusal::not_open:
      return make_error(errc::internal, "plugin is not initialized");
    case session_pool::refusal::closed:
      return make_error(errc::internal, "plugin is closed");
    case session_pool::refusal::timed_out:
      return make_error(errc::unavailable, "timed out after " + std::to_string(s->conn.connect_timeout_seconds) +
                                               "s waiting for a database connection (max_open_connections=" +
                                               std::to_string(s->max_open) + ")");
  }
  if (!got.fresh) return checkout(this, std::move(got.e));
  std::uint64_t gen = got.e.generation;
  // New logins wait while a root rotation switches passwords, and then use the current settings.
  std::shared_lock logins(login_mu_);
  // The settings may have changed while we waited: the session is counted in the new pool.
  if (!pool_.recount(gen)) return make_error(errc::internal, "plugin is closed");
  s = current();
  if (!s) {
    pool_.abandon(gen);
    return make_error(errc::internal, "plugin is closed");
  }
  auto conninfo = render_connection_string(s->conn);
  try {
    if (!conninfo) throw std::runtime_error(conninfo.err().message);
    pooled p{std::make_unique<pg_session>(conninfo->reveal()), pool_.now(), gen, {}};
    return checkout(this, std::move(p));
  } catch (const std::exception& e) {
    pool_.abandon(gen);
    if (lack_of_slots(e.what())) refused_for_lack_of_slots();
    std::vector<const secret*> secrets{&s->conn.password};
    if (conninfo) secrets.push_back(&*conninfo);
    return make_error(errc::unavailable, plugin::sanitize(e.what(), secrets));
  }
}

void postgres_plugin::give_back(pooled p, bool is_broken) {
  const auto due = pool_.give_back(std::move(p), is_broken);
  if (due != session_pool::time_point::max()) reaper_.wake_by(due);
}

void postgres_plugin::refused_for_lack_of_slots() {
  // The idle sessions close now: their slots go back to the database at once.
  pool_.keep_no_idle_until(pool_.now() + keep_no_idle_after_refusal);
}

template <class... Args>
status postgres_plugin::end_backends(const std::string& where, const std::string& what, const Args&... args) {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  auto c = acquire();
  if (!c) return std::move(c).err();
  const std::string match = " FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND " + where;
  try {
    pqxx::nontransaction tx(c->conn());
    tx.exec_params("SELECT pg_terminate_backend(pid)" + match, args...);
    // Each poll is its own transaction: pg_stat_activity is a snapshot per transaction.
    const auto deadline = std::chrono::steady_clock::now() + end_backends_wait;
    for (;;) {
      const pqxx::result counted = tx.exec_params("SELECT count(*)" + match, args...);
      const auto left = counted[0][0].as<long>();
      if (left == 0) return ok_v;
      if (std::chrono::steady_clock::now() >= deadline) {
        return make_error(errc::unavailable, std::to_string(left) + " session(s) of " + what + " still there " +
                                                 std::to_string(end_backends_wait.count()) + "s after pg_terminate_backend");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (const std::exception& e) {
    if (broken(e)) c->mark_broken();
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
    return make_error(sql != nullptr ? errc::internal : errc::unavailable,
                      "ending the sessions of " + what + ": " + plugin::sanitize(e.what(), {&s->conn.password}));
  }
}

result<ok_t> postgres_plugin::end_sessions(const std::string& boot) {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  if (boot == s->boot) return make_error(errc::internal, "refusing to end this process's own sessions");
  const std::string tag = plugin::session_tag(boot);
  return end_backends("application_name = $1", "\"" + tag + "\"", tag);
}

status postgres_plugin::end_lost() {
  std::vector<lost_backend> lost;
  {
    std::lock_guard lock(mu_);
    if (lost_.empty()) return ok_v;
    lost = lost_;
  }
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  for (const auto& b : lost) {
    auto e = end_backends("pid = $1::int AND application_name = $2 AND backend_start = $3::timestamptz",
                          "a creation whose connection broke (backend " + std::to_string(b.pid) + ")",
                          std::to_string(b.pid), s->conn.application_name, b.backend_start);
    if (!e) {
      return make_error(errc::unavailable, "a session that broke while it created a user could not be ended yet: " +
                                               e.err().message);
    }
    std::lock_guard lock(mu_);
    std::erase_if(lost_, [&](const lost_backend& x) { return x.pid == b.pid && x.backend_start == b.backend_start; });
  }
  return ok_v;
}

template <class F>
result<ok_t> postgres_plugin::with_connection(F&& f, const std::vector<const secret*>& secrets, bool creates) {
  for (int attempt = 0;; ++attempt) {
    // A creation lost with its session may still commit: nothing that could see its outcome (a
    // retry, user_exists, the rollback's delete_user) runs before its backend is gone.
    if (auto e = end_lost(); !e) return std::move(e).err();
    auto c = acquire();
    if (!c) return std::move(c).err();
    auto s = current();
    std::vector<const secret*> scrub;
    scrub.reserve(secrets.size() + 1);
    scrub.insert(scrub.end(), secrets.begin(), secrets.end());
    if (s) scrub.push_back(&s->conn.password);
    try {
      f(c->conn());
      return ok_v;
    } catch (const std::exception& e) {
      if (broken(e)) {
        c->mark_broken();
        if (creates && c->session().pid != 0) {
          std::lock_guard lock(mu_);
          lost_.push_back({c->session().pid, c->session().backend_start});
        }
        if (attempt == 0) continue;  // the database restarted: once more on a fresh session
        return make_error(errc::unavailable, plugin::sanitize(e.what(), scrub));
      }
      if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
        return make_error(errc::internal, plugin::sanitize(e.what(), scrub));
      }
      c->mark_broken();
      return make_error(errc::internal, plugin::sanitize(e.what(), scrub));
    }
  }
}

std::string postgres_plugin::password_value(const secret& password, double entropy_bits) const {
  auto s = current();
  if (s && s->scram) {
    const auto salt = random_bytes(16);
    return scram_sha256_verifier(password.reveal(), std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()),
                                 scram_iterations_for(s->scram_iterations, entropy_bits));
  }
  return password.reveal();
}

std::vector<std::string> postgres_plugin::password_warnings(double entropy_bits) const {
  auto s = current();
  if (!s || !s->scram || scram_iterations_for(s->scram_iterations, entropy_bits) == s->scram_iterations) return {};
  char bits[32];
  std::snprintf(bits, sizeof bits, "%.1f", entropy_bits);
  return {"the password policy gives " + std::string(bits) + " bits of entropy, less than the " +
          std::to_string(static_cast<int>(min_unstretched_bits)) + " that scram_iterations=" +
          std::to_string(s->scram_iterations) + " needs: these credentials get SCRAM verifiers of " +
          std::to_string(default_scram_iterations) + " iterations"};
}

result<std::string> postgres_plugin::generate_username(const plugin::username_metadata& meta) {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  auto name = plugin::render_template(s->username_template, {meta.display_name, meta.role_name});
  if (!name) return make_error(errc::invalid_request, "unable to generate username: " + name.err().message);
  if (name->empty()) return make_error(errc::invalid_request, "unable to generate username: the template produced an empty name");
  if (name->size() > max_identifier) {
    return make_error(errc::invalid_request, "unable to generate username: the template produced " +
                                                 std::to_string(name->size()) +
                                                 " bytes; PostgreSQL names are limited to 63 (use truncate or "
                                                 "truncate_sha256 before the random part)");
  }
  if (name->find('\0') != std::string::npos) return make_error(errc::invalid_request, "unable to generate username: NUL byte");
  return name;
}

result<ok_t> postgres_plugin::new_user(const plugin::new_user_request& req) {
  const auto statements = split_statements(req.statements);
  if (statements.empty()) return make_error(errc::invalid_request, "empty creation statements");
  const secret pw(password_value(req.password, req.password_entropy_bits));
  const placeholders values{req.username, pw.reveal(), format_expiration(req.expiration)};
  return with_connection(
      [&](pqxx::connection& c) {
        const quoting q = quoting_of(c);
        std::vector<std::string> sql;
        for (const auto& st : statements) sql.push_back(substitute(st, values, q));
        exec_atomically(gate_, c, sql);
      },
      {&req.password, &pw}, true);
}

result<ok_t> postgres_plugin::update_user(const plugin::update_user_request& req) {
  if (req.username.empty()) return make_error(errc::invalid_request, "missing username");
  if (!req.password && !req.expiration) return make_error(errc::invalid_request, "no changes requested");
  secret pw;
  if (req.password) pw = secret(password_value(req.password->new_password, req.password->password_entropy_bits));
  return with_connection(
      [&](pqxx::connection& c) {
        const quoting q = quoting_of(c);
        std::vector<std::string> sql;
        if (req.password) {
          auto st = split_statements(req.password->statements);
          if (st.empty()) st = {R"(ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}')"};
          const placeholders values{req.username, pw.reveal(), ""};
          for (const auto& s : st) sql.push_back(substitute(s, values, q));
        }
        if (req.expiration) {
          auto st = split_statements(req.expiration->statements);
          if (st.empty()) st = {R"(ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}')"};
          const placeholders values{req.username, "", format_expiration(req.expiration->new_expiration)};
          for (const auto& s : st) sql.push_back(substitute(s, values, q));
        }
        exec_atomically(gate_, c, sql);
      },
      req.password ? std::vector<const secret*>{&req.password->new_password, &pw} : std::vector<const secret*>{});
}

result<ok_t> postgres_plugin::delete_user(const plugin::delete_user_request& req) {
  if (req.username.empty()) return make_error(errc::invalid_request, "missing username");
  const auto custom = split_statements(req.statements);
  return with_connection(
      [&](pqxx::connection& c) {
        const std::string u = c.quote_name(req.username);
        {
          pqxx::nontransaction probe(c);
          if (probe.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", req.username).empty()) return;
          // No new logins, then end the live ones (needs superuser or pg_signal_backend).
          try {
            probe.exec("ALTER ROLE " + u + " NOLOGIN");
          } catch (const pqxx::sql_error&) {
          }
          try {
            probe.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
                              req.username);
          } catch (const pqxx::sql_error&) {
          }
        }
        if (!custom.empty()) {
          const quoting q = quoting_of(c);
          std::vector<std::string> sql;
          for (const auto& st : custom) sql.push_back(substitute(st, {req.username, "", ""}, q));
          exec_atomically(gate_, c, sql);
          return;
        }
        // Vault's default revocation, each statement on its own and best effort, then objects the
        // role owns are handed to us and dropped, then the role itself (this last one must work).
        std::vector<std::string> steps;
        {
          pqxx::nontransaction tx(c);
          for (const auto& row : tx.exec_params(
                   "SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = $1",
                   req.username)) {
            const std::string schema = c.quote_name(row[0].as<std::string>());
            steps.push_back("REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA " + schema + " FROM " + u);
            steps.push_back("REVOKE USAGE ON SCHEMA " + schema + " FROM " + u);
          }
          const std::string db = c.quote_name(tx.exec1("SELECT current_database()")[0].as<std::string>());
          steps.push_back("REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM " + u);
          steps.push_back("REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM " + u);
          steps.push_back("REVOKE USAGE ON SCHEMA public FROM " + u);
          steps.push_back("REVOKE CONNECT ON DATABASE " + db + " FROM " + u);
          steps.push_back("REASSIGN OWNED BY " + u + " TO CURRENT_USER");
          steps.push_back("DROP OWNED BY " + u);
          for (const auto& st : steps) {
            try {
              retrying(gate_, [&] { tx.exec(st); });
            } catch (const pqxx::sql_error&) {
            }
          }
          retrying(gate_, [&] { tx.exec("DROP ROLE IF EXISTS " + u); });
        }
      },
      {});
}

result<bool> postgres_plugin::user_exists(const std::string& username) {
  bool exists = false;
  auto r = with_connection(
      [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        exists = !tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", username).empty();
      },
      {});
  if (!r) return std::move(r).err();
  return exists;
}

void postgres_plugin::replace_settings(std::shared_ptr<const settings> s) {
  const auto limits = limits_of(*s);
  {
    std::lock_guard lock(mu_);
    settings_ = std::move(s);
  }
  pool_.renew(limits);  // sessions made with the previous settings close when they come back
}

result<plugin::initialize_response> postgres_plugin::rotate_root(const plugin::rotate_root_request& req) {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  if (s->conn.username.empty() || s->conn.password.empty()) {
    return make_error(errc::invalid_request, "unable to rotate root credentials: no username or password in configuration");
  }
  // A session logged in with the current password, kept to the end: it can put the old one back.
  auto c = acquire();
  if (!c) return std::move(c).err();
  auto statements = split_statements(req.statements);
  if (statements.empty()) statements = {R"(ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}')"};
  auto run = [&](const secret& pw) -> result<ok_t> {
    // The old password, put back after a failed switch, is of unknown strength: 4096 or more.
    const secret value(password_value(pw, &pw == &req.new_password ? req.password_entropy_bits : 0));
    try {
      const quoting q = quoting_of(c->conn());
      std::vector<std::string> sql;
      for (const auto& st : statements) sql.push_back(substitute(st, {s->conn.username, value.reveal(), ""}, q));
      exec_atomically(gate_, c->conn(), sql);
      return ok_v;
    } catch (const std::exception& e) {
      return make_error(errc::internal, plugin::sanitize(e.what(), {&pw, &value, &s->conn.password}));
    }
  };
  auto with_password = [&](const secret& pw) {
    auto ns = std::make_shared<settings>(*s);
    ns->conn.password = pw;
    ns->config["password"] = pw.reveal();
    return ns;
  };
  auto next = with_password(req.new_password);
  {
    // No new login starts between the change and the switch (sessions already open keep working).
    std::unique_lock no_new_logins(login_mu_);
    if (auto r = run(req.new_password); !r) return std::move(r).err();  // unchanged: one transaction
    replace_settings(next);
  }
  if (auto v = verify(); !v) {
    std::unique_lock no_new_logins(login_mu_);
    auto back = run(s->conn.password);
    replace_settings(s);
    if (!back) {
      return make_error(errc::unavailable, "the new root password was set but does not log in (" + v.err().message +
                                               "), and the old one could not be put back: " + back.err().message);
    }
    return make_error(errc::unavailable, "the new root password does not log in (" + v.err().message +
                                             "); the old one was put back");
  }
  return plugin::initialize_response{next->config};
}

result<plugin::verify_response> postgres_plugin::verify() {
  auto s = current();
  if (!s) return make_error(errc::internal, "plugin is not initialized");
  auto conninfo = render_connection_string(s->conn);
  if (!conninfo) return std::move(conninfo).err();
  try {
    pqxx::connection c{conninfo->reveal()};
    pqxx::nontransaction tx{c};
    const auto r = tx.exec1("SELECT 1");
    if (r[0].as<int>() != 1) return make_error(errc::unavailable, "unexpected answer to SELECT 1");
    return plugin::verify_response{};
  } catch (const std::exception& e) {
    return make_error(errc::unavailable, plugin::sanitize(e.what(), {&s->conn.password, &*conninfo}));
  }
}

result<plugin::close_response> postgres_plugin::close() {
  pool_.close();  // nothing idle: the reaper sleeps until the next initialize or the destructor
  {
    std::lock_guard lock(mu_);
    settings_.reset();
  }
  return plugin::close_response{};
}

}  // namespace credbroker::plugins::postgres
