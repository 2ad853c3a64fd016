#include "broker/storage/postgresql_session.hpp"

namespace credbroker::storage {

postgresql_session::postgresql_session(const postgresql_target& target, std::string purpose)
    : target_(target), purpose_(std::move(purpose)) {}

postgresql_session::~postgresql_session() {
  std::lock_guard lock(mu_);
  close();
}

result<std::unique_ptr<postgresql_session>> postgresql_session::open(const postgresql_target& target,
                                                                     std::string purpose,
                                                                     const std::vector<setting>& settings) {
  std::unique_ptr<postgresql_session> s(new postgresql_session(target, std::move(purpose)));
  const std::string what = "cannot open the " + s->purpose_ + " session";
  try {
    s->conn_ = std::make_unique<pqxx::connection>(target.conninfo().reveal());
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    s->conn_->inhibit_reactivation(true);  // see the header: a lost session stays lost
#pragma GCC diagnostic pop
    s->pid_ = s->conn_->backendpid();
    pqxx::nontransaction tx(*s->conn_);
    for (const auto& [name, value] : settings) tx.exec_params("SELECT set_config($1, $2, false)", name, value);
  } catch (const std::exception& e) {
    return target.failure(what, e);
  }
  s->confirm(steady::now());
  return s;
}

void postgresql_session::close() {
  mark_broken();
  if (conn_) conn_->disconnect();
}

void postgresql_session::confirm(steady::time_point sent) {
  const auto v = sent.time_since_epoch().count();
  auto cur = confirmed_.load();
  while (cur < v && !confirmed_.compare_exchange_weak(cur, v)) {
  }
}

bool postgresql_session::is_connection_loss(const std::exception& e, const pqxx::connection& c) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) return true;
  }
  return !c.is_open();
}

error postgresql_session::fail(const std::string& what, const std::exception& e) {
  if (is_connection_loss(e, *conn_)) {
    mark_broken();
    return target_.failure(what + ": the " + purpose_ + " session was lost", e);
  }
  return target_.failure(what, e);
}

status create_table_once(postgresql_session& s, const std::string& quoted_name, const std::string& columns,
                         const std::string& what) {
  auto exists = s.run(what, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec_params("SELECT to_regclass($1) IS NOT NULL", quoted_name)[0][0].as<bool>();
  });
  if (!exists) return std::move(exists).err();
  if (*exists) return ok_v;
  auto created = s.run(what, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params("SELECT pg_advisory_xact_lock($1, 1)", postgresql_lock_class);
    tx.exec("CREATE TABLE IF NOT EXISTS " + quoted_name + " (" + columns + ")");
    tx.commit();
    return true;
  });
  if (!created) return std::move(created).err();
  return ok_v;
}

}  // namespace credbroker::storage
