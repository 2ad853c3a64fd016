#pragma once
// fake_plugin: an in-memory database for engine unit tests. Users live in a shared map so a test can
// look at them after the engine made its own instances; failures can be injected per verb.
// Creations a dead broker process left running in the database are `in_flight` under its boot id:
// end_sessions(boot) aborts them, commit_in_flight(boot) lets them commit (the lock they waited on
// was released).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "broker/plugin/database_plugin.hpp"

namespace credbroker::testing_support {

struct fake_database {
  std::mutex mu;
  std::map<std::string, std::string> users;  // username -> password
  std::map<std::string, plugin::time_point> valid_until;
  bool down = false;           // every verb fails with errc::unavailable
  bool fail_new_user = false;  // new_user fails after nothing was created
  bool crash_after_create = false;  // new_user creates the user, then reports a failure
  std::string root_password;         // what the "database" accepts for the root login
  bool refuse_passwords = false;      // update_user / rotate_root refuse (a password policy)
  int update_calls = 0;
  std::vector<std::string> passwords_tried;  // every password update_user was asked to set
  int new_user_calls = 0;
  std::function<void()> during_new_user;  // runs inside new_user, before the user exists
  int delete_calls = 0;
  int initialize_calls = 0;
  std::string last_config;
  std::vector<std::string> config_keys;  // what config_keys() answers (empty: every key is read)
  std::map<std::string, std::vector<std::string>> in_flight;  // boot id -> usernames still being created
  bool fail_end_sessions = false;                              // end_sessions fails (no right to end them)
  bool fail_lookups = false;                                   // user_exists fails (a node does not answer)
  std::vector<std::string> ended_boots;                        // every end_sessions call, in order
  std::vector<std::string> calls;  // "end_sessions <boot>", "user_exists <user>", "delete_user <user>"
  plugin::pool_stats pool;         // what pool() answers
  double min_password_bits = 0;    // password_warnings warns below this entropy
  double last_entropy_bits = -1;   // new_user's password_entropy_bits, last call

  // The creations of `boot` still running commit now; returns how many did.
  std::size_t commit_in_flight(const std::string& boot) {
    std::lock_guard lock(mu);
    auto it = in_flight.find(boot);
    if (it == in_flight.end()) return 0;
    for (const auto& u : it->second) users[u] = "committed-late";
    const std::size_t n = it->second.size();
    in_flight.erase(it);
    return n;
  }
};

class fake_plugin final : public plugin::database_plugin {
 public:
  // A creation statement the fake refuses as a database refuses a syntax error.
  static constexpr const char* invalid_statement = "INVALID STATEMENT";
  explicit fake_plugin(std::shared_ptr<fake_database> db) : db_(std::move(db)) {}
  std::string type() const override { return "fake"; }
  std::vector<std::string> config_keys() const override {
    std::lock_guard lock(db_->mu);
    return db_->config_keys;
  }
  std::vector<std::string> password_warnings(double bits) const override {
    std::lock_guard lock(db_->mu);
    if (bits >= db_->min_password_bits) return {};
    return {"weak: " + std::to_string(static_cast<int>(bits)) + " bits"};
  }
  result<plugin::initialize_response> initialize(plugin::initialize_request req) override {
    std::lock_guard lock(db_->mu);
    ++db_->initialize_calls;
    db_->last_config = req.config.dump();
    if (req.config.value("invalid", false)) return make_error(errc::invalid_request, "config is invalid");
    if (req.verify_connection && db_->down) return make_error(errc::unavailable, "error verifying connection: down");
    if (req.verify_connection && !db_->root_password.empty() && req.config.value("password", "") != db_->root_password) {
      return make_error(errc::unavailable, "password authentication failed");
    }
    config_ = req.config;
    boot_ = req.boot_id;
    nlohmann::json out = req.config;
    out["normalised"] = true;
    return plugin::initialize_response{out};
  }
  result<std::string> generate_username(const plugin::username_metadata& m) override {
    std::lock_guard lock(db_->mu);
    return "v-" + m.display_name + "-" + m.role_name + "-" + std::to_string(++counter_);
  }
  result<ok_t> new_user(const plugin::new_user_request& r) override {
    if (db_->during_new_user) db_->during_new_user();
    std::lock_guard lock(db_->mu);
    ++db_->new_user_calls;
    db_->last_entropy_bits = r.password_entropy_bits;
    if (db_->down) return make_error(errc::unavailable, "database down");
    if (closed_) return make_error(errc::internal, "plugin is closed");
    if (r.statements.empty()) return make_error(errc::invalid_request, "empty creation statements");
    for (const auto& st : r.statements) {
      if (st == invalid_statement) return make_error(errc::invalid_request, "syntax error at or near \"INVALID\"");
    }
    if (db_->fail_new_user) return make_error(errc::internal, "syntax error");
    db_->users[r.username] = r.password.reveal();
    db_->valid_until[r.username] = r.expiration;
    if (db_->crash_after_create) return make_error(errc::unavailable, "connection lost after commit");
    return ok_v;
  }
  result<ok_t> update_user(const plugin::update_user_request& r) override {
    std::lock_guard lock(db_->mu);
    ++db_->update_calls;
    if (r.password) db_->passwords_tried.push_back(r.password->new_password.reveal());
    if (db_->down) return make_error(errc::unavailable, "database down");
    if (r.password && db_->refuse_passwords) return make_error(errc::invalid_request, "password does not meet the policy");
    if (!db_->users.contains(r.username)) return make_error(errc::internal, "no such user");
    if (r.password) db_->users[r.username] = r.password->new_password.reveal();
    if (r.expiration) db_->valid_until[r.username] = r.expiration->new_expiration;
    return ok_v;
  }
  result<ok_t> delete_user(const plugin::delete_user_request& r) override {
    std::lock_guard lock(db_->mu);
    ++db_->delete_calls;
    db_->calls.push_back("delete_user " + r.username);
    if (db_->down) return make_error(errc::unavailable, "database down");
    db_->users.erase(r.username);
    return ok_v;
  }
  result<bool> user_exists(const std::string& u) override {
    std::lock_guard lock(db_->mu);
    db_->calls.push_back("user_exists " + u);
    if (db_->down || db_->fail_lookups) return make_error(errc::unavailable, "database down");
    return db_->users.contains(u);
  }
  result<plugin::initialize_response> rotate_root(const plugin::rotate_root_request& r) override {
    std::lock_guard lock(db_->mu);
    if (db_->down) return make_error(errc::unavailable, "database down");
    if (db_->refuse_passwords) return make_error(errc::invalid_request, "password does not meet the policy");
    db_->root_password = r.new_password.reveal();
    config_["password"] = db_->root_password;
    return plugin::initialize_response{config_};
  }
  result<plugin::verify_response> verify() override {
    std::lock_guard lock(db_->mu);
    if (closed_) return make_error(errc::internal, "plugin is closed");
    if (db_->down) return make_error(errc::unavailable, "down");
    if (!db_->root_password.empty() && config_.value("password", "") != db_->root_password) {
      return make_error(errc::unavailable, "password authentication failed");
    }
    return plugin::verify_response{};
  }
  result<ok_t> end_sessions(const std::string& boot) override {
    std::lock_guard lock(db_->mu);
    db_->calls.push_back("end_sessions " + boot);
    if (boot == boot_) return make_error(errc::internal, "refusing to end this process's own sessions");
    if (db_->down) return make_error(errc::unavailable, "database down");
    if (db_->fail_end_sessions) return make_error(errc::internal, "permission denied to terminate process");
    db_->ended_boots.push_back(boot);
    db_->in_flight.erase(boot);  // terminated: their transactions roll back
    return ok_v;
  }
  result<plugin::close_response> close() override {
    std::lock_guard lock(db_->mu);
    closed_ = true;
    return plugin::close_response{};
  }
  plugin::pool_stats pool() const override {
    std::lock_guard lock(db_->mu);
    return db_->pool;
  }

 private:
  std::shared_ptr<fake_database> db_;
  nlohmann::json config_;
  std::string boot_;
  int counter_ = 0;
  bool closed_ = false;  // guarded by db_->mu
};

}  // namespace credbroker::testing_support
