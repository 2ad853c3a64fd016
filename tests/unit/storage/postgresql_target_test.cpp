// postgresql_target: what the PostgreSQL store connects to, how it names the server, and that the
// password never leaves it.
#include <gtest/gtest.h>

#include <pqxx/except>

#include "broker/storage/postgresql_target.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

TEST(postgresql_target, names_the_server_and_adds_timeouts_table) {
  struct row {
    const char* url;
    const char* server;
    const char* conninfo;  // nullptr: not checked
  };
  const std::vector<row> rows = {
      {"postgresql://u:p%40ss@db.internal:5433/kv", "db.internal:5433/kv",
       "postgresql://u:p%40ss@db.internal:5433/kv?connect_timeout=10&application_name=credbroker-storage"
       "&tcp_user_timeout=10000&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3"},
      {"postgres://u@10.0.0.1/kv?sslmode=require&connect_timeout=3", "10.0.0.1:5432/kv",
       "postgres://u@10.0.0.1/kv?sslmode=require&connect_timeout=3&application_name=credbroker-storage"
       "&tcp_user_timeout=10000&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3"},
      {"host=127.0.0.1 port=15432 dbname=postgres user=x password='a b'", "127.0.0.1:15432/postgres",
       "host=127.0.0.1 port=15432 dbname=postgres user=x password='a b' connect_timeout=10 "
       "application_name=credbroker-storage tcp_user_timeout=10000 keepalives=1 keepalives_idle=10 "
       "keepalives_interval=5 keepalives_count=3"},
      {"user=only", "local socket:5432/only", nullptr},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.url);
    auto t = postgresql_target::parse(secret(r.url));
    ASSERT_TRUE(t.ok()) << t.err().message;
    EXPECT_EQ(t->server(), r.server);
    if (r.conninfo != nullptr) {
      EXPECT_EQ(t->conninfo().reveal(), r.conninfo);
    }
  }
}

TEST(postgresql_target, bad_urls_are_configuration_errors_without_the_password) {
  auto empty = postgresql_target::parse(secret(""));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.err().code, make_error_code(errc::invalid_request));
  auto bad = postgresql_target::parse(secret("postgresql://u:hunter2@host/db?nosuchoption=1"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, make_error_code(errc::invalid_request));
  EXPECT_EQ(bad.err().message.find("hunter2"), std::string::npos) << bad.err().message;
  auto keyword = postgresql_target::parse(secret("host=x password=hunter2 nonsense"));
  ASSERT_FALSE(keyword.ok());
  EXPECT_EQ(keyword.err().message.find("hunter2"), std::string::npos) << keyword.err().message;
}

TEST(postgresql_target, failures_name_the_server_and_scrub_the_password) {
  auto t = postgresql_target::parse(secret("postgresql://u:s%3Dcret@db:5432/kv"));
  ASSERT_TRUE(t.ok());
  const auto e = t->failure("storage write failed for \"k\"",
                            pqxx::broken_connection("FATAL: password s=cret (s%3Dcret) refused\n\tHINT: x\n"));
  EXPECT_EQ(e.code, make_error_code(errc::storage_failure));
  EXPECT_EQ(e.message,
            "storage write failed for \"k\" (PostgreSQL at db:5432/kv): FATAL: password [redacted] ([redacted]) "
            "refused  HINT: x");
}

}  // namespace
