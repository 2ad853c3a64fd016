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

}  // namespace
