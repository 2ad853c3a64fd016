#include <gtest/gtest.h>

#include "plugins/postgres/connection_string.hpp"

using namespace credbroker;
using namespace credbroker::plugins::postgres;

namespace {

struct conn_case {
  std::string url, user, password;
  bool disable_escaping;
  const char* expected;  // nullptr: error expected
};

TEST(connection_string, table) {
  const std::vector<conn_case> cases = {
      {"postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres", "root", "p@ss word", false,
       "postgresql://root:p%40ss%20word@127.0.0.1:5432/postgres?connect_timeout=10"
       "&tcp_user_timeout=10000&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
       "&application_name=credbroker%3Ak3J9xQ0aZ7mT2pLb"},
      {"postgres://{{username}}:{{password}}@h/db?sslmode=disable", "r", "x", false,
       "postgres://r:x@h/db?sslmode=disable&connect_timeout=10"
       "&tcp_user_timeout=10000&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
       "&application_name=credbroker%3Ak3J9xQ0aZ7mT2pLb"},
      {"postgresql://{{username}}:{{password}}@h/db?connect_timeout=3&keepalives_idle=5", "r", "a&b", true,
       "postgresql://r:a&b@h/db?connect_timeout=3&keepalives_idle=5"
       "&tcp_user_timeout=10000&keepalives_interval=10&keepalives_count=3&application_name=credbroker%3Ak3J9xQ0aZ7mT2pLb"},
      {"host=h user={{username}} password={{password}}", "r", "it's \\ odd", false,
       "host=h user='r' password='it\\'s \\\\ odd' connect_timeout=10 tcp_user_timeout=10000 "
       "keepalives_idle=30 keepalives_interval=10 keepalives_count=3 application_name='credbroker:k3J9xQ0aZ7mT2pLb'"},
      // A configured application_name is overridden: the broker finds its sessions by its own.
      {"postgresql://{{username}}:{{password}}@h/db?application_name=mine", "r", "x", false,
       "postgresql://r:x@h/db?application_name=mine&connect_timeout=10&tcp_user_timeout=10000&keepalives_idle=30"
       "&keepalives_interval=10&keepalives_count=3&application_name=credbroker%3Ak3J9xQ0aZ7mT2pLb"},
      {"", "r", "x", false, nullptr},
      {"postgresql://{{username}}@h/db", "{{password}}", "x", false, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    connection_template t;
    t.url = c.url;
    t.username = c.user;
    t.password = secret(c.password);
    t.disable_escaping = c.disable_escaping;
    t.application_name = "credbroker:k3J9xQ0aZ7mT2pLb";
    auto r = render_connection_string(t);
    if (c.expected == nullptr) {
      EXPECT_FALSE(r.ok());
    } else {
      ASSERT_TRUE(r.ok()) << r.err().message;
      EXPECT_EQ(r->reveal(), c.expected);
    }
  }
}

}  // namespace
