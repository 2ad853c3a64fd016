#pragma once
// The PostgreSQL store and HA lock on the throwaway server of scripts/test-servers.sh: connection
// strings, a superuser session for setup and inspection, fresh table names, and a backend on a
// table of its own that is dropped afterwards.
#include <pqxx/pqxx>

#include <memory>
#include <string>

#include "broker/core/random.hpp"
#include "broker/storage/postgresql_backend.hpp"
#include "support/env.hpp"

namespace credbroker::test {

struct pg_server {
  std::string host = env_or_fail("CREDBROKER_TEST_PG_HOST");
  std::string port = env_or_fail("CREDBROKER_TEST_PG_PORT");
  std::string user = env_or_fail("CREDBROKER_TEST_PG_USER");
  std::string password = env_or_fail("CREDBROKER_TEST_PG_PASSWORD");
  std::string database = env_or_fail("CREDBROKER_TEST_PG_DATABASE");

  // A keyword connection string (values quoted as libpq requires).
  std::string conninfo(const std::string& as_user = "", const std::string& as_password = "",
                       const std::string& application = "") const {
    auto q = [](const std::string& v) {
      std::string out = "'";
      for (char c : v) {
        if (c == '\'' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      return out + "'";
    };
    std::string s = "host=" + q(host) + " port=" + q(port) + " dbname=" + q(database) +
                    " user=" + q(as_user.empty() ? user : as_user) +
                    " password=" + q(as_user.empty() ? password : as_password);
    if (!application.empty()) s += " application_name=" + q(application);
    return s;
  }
  std::string server_name() const { return host + ":" + port + "/" + database; }
};

// A fresh lowercase name such as "kit_k3j9x0q2ab".
inline std::string fresh_name(const std::string& stem) {
  std::string r = random_alnum(10);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return stem + "_" + r;
}

// Runs SQL as the superuser on a session of its own (setup, inspection, pg_terminate_backend).
inline pqxx::result admin_sql(const std::string& sql) {
  pqxx::connection c(pg_server().conninfo());
  pqxx::nontransaction tx(c);
  return tx.exec(sql);
}

// Terminates the sessions whose application_name is `application`; returns how many.
inline int terminate_sessions(const std::string& application) {
  pqxx::connection c(pg_server().conninfo());
  pqxx::nontransaction tx(c);
  auto r = tx.exec_params(
      "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = $1 AND pid <> pg_backend_pid()",
      application);
  return r[0][0].as<int>();
}

inline storage::postgresql_options pg_options(const std::string& table, const std::string& application = "") {
  storage::postgresql_options o;
  o.connection_url = secret(pg_server().conninfo("", "", application));
  o.table = table;
  o.connect_timeout_seconds = 5;
  return o;
}

}  // namespace credbroker::test
