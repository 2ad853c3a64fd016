#include <gtest/gtest.h>

#include "api/router.hpp"

using namespace credbroker::api;

namespace {

route at(std::string pattern) {
  route r;
  r.pattern = std::move(pattern);
  return r;
}

TEST(router, generic_name_table) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"a", true},   {"app", true},  {"my-role.v2", true}, {"a_b", true},   {"-a", false},
      {"a-", false}, {"", false},    {"a b", false},       {"a/b", false},  {".a", false},
  };
  for (const auto& [name, ok] : cases) EXPECT_EQ(is_generic_name(name), ok) << name;
}

TEST(router, longest_mount_and_patterns) {
  router r;
  auto db = std::make_shared<mount_table_entry>();
  db->path = "database/";
  db->type = "database";
  db->routes = {at("creds/:name"), at("roles/"), at("roles/:name")};
  auto nested = std::make_shared<mount_table_entry>();
  nested->path = "database/prod/";
  nested->type = "database";
  nested->routes = {at("creds/:name")};
  auto sys = std::make_shared<mount_table_entry>();
  sys->path = "sys/";
  sys->type = "system";
  sys->routes = {at("leases/lookup/*prefix")};
  r.add_mount(db);
  r.add_mount(nested);
  r.add_mount(sys);

  auto m = r.find("database/creds/app");
  ASSERT_TRUE(m.mount && m.r);
  EXPECT_EQ(m.mount->path, "database/");
  EXPECT_EQ(m.captures.at("name"), "app");

  m = r.find("database/prod/creds/app");
  ASSERT_TRUE(m.mount && m.r);
  EXPECT_EQ(m.mount->path, "database/prod/");

  m = r.find("database/roles/");
  ASSERT_TRUE(m.r);
  EXPECT_EQ(m.r->pattern, "roles/");

  m = r.find("database/creds/app/extra");
  EXPECT_TRUE(m.mount);
  EXPECT_EQ(m.r, nullptr);

  m = r.find("sys/leases/lookup/database/creds/");
  ASSERT_TRUE(m.r);
  EXPECT_EQ(m.captures.at("prefix"), "database/creds/");
  m = r.find("sys/leases/lookup/");
  ASSERT_TRUE(m.r);
  EXPECT_EQ(m.captures.at("prefix"), "");

  EXPECT_FALSE(r.find("data/creds/app").mount);
  EXPECT_TRUE(r.remove_mount("database/prod/"));
  EXPECT_EQ(r.find("database/prod/creds/app").mount->path, "database/");
}

TEST(router, credential_capture_names) {
  for (const char* name : {"token", "urltoken", "accessor", "url_accessor", "secret_id", "secret_id_accessor",
                           "url_lease_id", "lease_id", "prefix"}) {
    EXPECT_TRUE(is_credential_capture(name)) << name;
  }
  for (const char* name : {"name", "role_name", "path", "mount"}) EXPECT_FALSE(is_credential_capture(name)) << name;
}

TEST(router, loggable_path_hashes_credentials_only) {
  router r;
  auto sys = std::make_shared<mount_table_entry>();
  sys->path = "sys/";
  sys->routes = {at("leases/lookup/*prefix"), at("renew/*url_lease_id"), at("mounts/*path"), at("policy/:name")};
  auto tok = std::make_shared<mount_table_entry>();
  tok->path = "auth/token/";
  tok->routes = {at("lookup-accessor"), at("lookup-self"), at("accessors/")};
  auto approle = std::make_shared<mount_table_entry>();
  approle->path = "auth/approle/";
  approle->routes = {at("role/:role_name"), at("role/:role_name/secret-id"), at("role/:role_name/secret-id/lookup"),
                     at("role/:role_name/secret-id-accessor/:secret_id_accessor")};
  r.add_mount(sys);
  r.add_mount(tok);
  r.add_mount(approle);
  const auto h = [](std::string_view v) { return "<" + std::string(v) + ">"; };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sys/leases/lookup/database/creds/ro/abc", "sys/leases/lookup/<database/creds/ro/abc>"},
      {"sys/leases/lookup/", "sys/leases/lookup/"},
      {"sys/renew/database/creds/ro/abc", "sys/renew/<database/creds/ro/abc>"},
      {"sys/mounts/db one", "sys/mounts/db%20one"},
      {"sys/policy/dev", "sys/policy/dev"},
      {"sys/policy/dev/extra", "sys/policy/dev/<extra>"},
      {"auth/token/lookup-accessor", "auth/token/lookup-accessor"},
      {"auth/token/lookup-accessor/Xy12", "auth/token/lookup-accessor/<Xy12>"},
      {"auth/token/revoke-accessor/Xy12", "auth/token/<revoke-accessor/Xy12>"},
      {"auth/token/accessors/", "auth/token/accessors/"},
      {"auth/approle/role/web/secret-id/lookup", "auth/approle/role/web/secret-id/lookup"},
      {"auth/approle/role/web/secret-id/5ecret", "auth/approle/role/web/secret-id/<5ecret>"},
      {"auth/approle/role/web/secret-id-accessor/acc1", "auth/approle/role/web/secret-id-accessor/<acc1>"},
      {"auth/approle/role/web/secret-id-accessor/acc1/x", "auth/approle/role/web/secret-id-accessor/<acc1/x>"},
      {"nowhere/hvs.token", "<nowhere/hvs.token>"},
      {"hvs.token", "<hvs.token>"},
      {"auth/typo/hvs.token", "auth/<typo/hvs.token>"},
      {"sys/", "sys/"},
      {"sys/\n\"x", "sys/<\n\"x>"},
  };
  for (const auto& [path, want] : cases) {
    SCOPED_TRACE(path);
    EXPECT_EQ(r.loggable_path(path, h), want);
  }
  EXPECT_EQ(loggable_unrouted("/ui/vault/auth", h), "/<ui/vault/auth>");
  EXPECT_EQ(loggable_unrouted("/hvs.token", h), "/<hvs.token>");
  EXPECT_EQ(loggable_unrouted("/", h), "/");
}

}  // namespace
