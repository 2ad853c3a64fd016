// record_codec: the stored JSON of the engine's records round-trips, damaged text is refused, and
// the redacted form of a config never carries a password.
#include <gtest/gtest.h>

#include "broker/engine/record_codec.hpp"

using namespace credbroker;
using namespace credbroker::engine;
using nlohmann::json;
using std::chrono::seconds;

namespace {

rotation_state sample_rotation() {
  rotation_state r;
  r.schedule = "0 3 * * *";
  r.window = seconds(7200);
  r.disabled = true;
  r.last = time_point{std::chrono::milliseconds{1'700'000'000'123}};
  r.next = time_point{std::chrono::milliseconds{1'700'086'400'000}};
  r.attempts = 2;
  r.last_error = "refused";
  r.next_attempt = time_point{std::chrono::milliseconds{1'700'000'020'000}};
  return r;
}

void expect_same(const rotation_state& a, const rotation_state& b) {
  EXPECT_EQ(a.period, b.period);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.window, b.window);
  EXPECT_EQ(a.disabled, b.disabled);
  EXPECT_EQ(a.last, b.last);
  EXPECT_EQ(a.next, b.next);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.next_attempt, b.next_attempt);
}

TEST(record_codec, config_round_trips) {
  connection_config c;
  c.name = "pg";
  c.plugin_name = "postgresql-database-plugin";
  c.plugin_version = "v1";
  c.verify_connection = false;
  c.allowed_roles = {"app", "my-*"};
  c.root_rotation_statements = {"ALTER ROLE x"};
  c.password_policy = "strict";
  c.skip_static_role_import_rotation = true;
  c.details = {{"connection_url", "postgresql://{{username}}:{{password}}@db/x"}, {"password", "root"}};
  c.root_rotation = sample_rotation();
  auto back = config_from_json(config_to_json(c).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->name, c.name);
  EXPECT_EQ(back->plugin_name, c.plugin_name);
  EXPECT_EQ(back->plugin_version, c.plugin_version);
  EXPECT_EQ(back->verify_connection, c.verify_connection);
  EXPECT_EQ(back->allowed_roles, c.allowed_roles);
  EXPECT_EQ(back->root_rotation_statements, c.root_rotation_statements);
  EXPECT_EQ(back->password_policy, c.password_policy);
  EXPECT_EQ(back->skip_static_role_import_rotation, c.skip_static_role_import_rotation);
  EXPECT_EQ(back->details, c.details);
  expect_same(back->root_rotation, c.root_rotation);
}

TEST(record_codec, role_and_static_role_round_trip) {
  role r;
  r.name = "app";
  r.db_name = "pg";
  r.default_ttl = seconds(60);
  r.max_ttl = seconds(600);
  r.creation_statements = {"CREATE"};
  r.revocation_statements = {"DROP"};
  r.rollback_statements = {"ROLLBACK"};
  r.renew_statements = {"RENEW"};
  r.credential_type = "rsa_private_key";
  r.credential_config = {{"key_bits", 2048}};
  auto rb = role_from_json(role_to_json(r).dump());
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->name, r.name);
  EXPECT_EQ(rb->db_name, r.db_name);
  EXPECT_EQ(rb->default_ttl, r.default_ttl);
  EXPECT_EQ(rb->max_ttl, r.max_ttl);
  EXPECT_EQ(rb->creation_statements, r.creation_statements);
  EXPECT_EQ(rb->revocation_statements, r.revocation_statements);
  EXPECT_EQ(rb->rollback_statements, r.rollback_statements);
  EXPECT_EQ(rb->renew_statements, r.renew_statements);
  EXPECT_EQ(rb->credential_type, r.credential_type);
  EXPECT_EQ(rb->credential_config, r.credential_config);

  static_role s;
  s.name = "svc";
  s.db_name = "pg";
  s.username = "svc_user";
  s.rotation_statements = {"ALTER"};
  s.credential_config = {{"password_policy", "strict"}};
  s.password = secret("current");
  s.rotation = sample_rotation();
  auto sb = static_role_from_json(static_role_to_json(s).dump());
  ASSERT_TRUE(sb);
  EXPECT_EQ(sb->name, s.name);
  EXPECT_EQ(sb->db_name, s.db_name);
  EXPECT_EQ(sb->username, s.username);
  EXPECT_EQ(sb->rotation_statements, s.rotation_statements);
  EXPECT_EQ(sb->credential_type, "password");
  EXPECT_EQ(sb->credential_config, s.credential_config);
  EXPECT_TRUE(sb->password == s.password);
  expect_same(sb->rotation, s.rotation);
}

TEST(record_codec, missing_fields_default_and_damaged_text_is_refused) {
  auto c = config_from_json("{}");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->verify_connection);
  EXPECT_EQ(c->details, json::object());
  EXPECT_EQ(c->root_rotation.next, time_point{});
  auto r = role_from_json(R"({"name":"app"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->credential_type, "password");
  const std::vector<std::pair<const char*, std::string>> damaged = {
      {"not json", "{"}, {"an array", "[1]"}, {"wrong type", R"({"name": 5})"}, {"empty", ""}};
  for (const auto& [what, text] : damaged) {
    SCOPED_TRACE(what);
    EXPECT_FALSE(config_from_json(text));
    EXPECT_FALSE(role_from_json(text));
    EXPECT_FALSE(static_role_from_json(text));
  }
}

TEST(record_codec, literal_url_passwords_are_found_templates_are_not) {
  struct url_case {
    const char* url;
    std::optional<std::string> password;
  };
  const std::vector<url_case> cases = {
      {"postgresql://admin:hunter2@db:5432/x", "hunter2"},
      {"postgresql://{{username}}:{{password}}@db/x", std::nullopt},
      {"postgresql://admin@db/x", std::nullopt},
      {"postgresql://admin:@db/x", std::nullopt},
      {"postgresql://db/x?user=a:b@c", std::nullopt},
      {"host=db password=x", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    const std::string url = c.url;
    auto span = literal_url_password(url);
    ASSERT_EQ(span.has_value(), c.password.has_value());
    if (span) {
      EXPECT_EQ(url.substr(span->first, span->second), *c.password);
    }
  }
}

TEST(record_codec, redacted_config_has_no_password_and_shows_the_rotation) {
  connection_config c;
  c.plugin_name = "postgresql-database-plugin";
  c.details = {{"connection_url", "postgresql://admin:hunter2@db/x"}, {"password", "root-secret"},
               {"private_key", "k"}, {"service_account_json", "{}"}, {"username", "admin"}};
  c.root_rotation.period = seconds(3600);
  c.root_rotation.last_error = "refused";
  const json out = redacted_config(c);
  EXPECT_EQ(out.dump().find("root-secret"), std::string::npos);
  EXPECT_EQ(out.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(out["connection_details"]["connection_url"], "postgresql://admin:xxxxx@db/x");
  EXPECT_EQ(out["connection_details"]["username"], "admin");
  EXPECT_FALSE(out["connection_details"].contains("private_key"));
  EXPECT_FALSE(out["connection_details"].contains("service_account_json"));
  EXPECT_EQ(out["rotation_period"], 3600);
  EXPECT_EQ(out["root_rotation_period"], 3600);
  EXPECT_FALSE(out.contains("root_rotation_schedule"));
  EXPECT_TRUE(out["last_root_rotation"].is_null());
  EXPECT_EQ(out["root_rotation_error"], "refused");
  EXPECT_TRUE(out.contains("root_rotation_next_attempt"));
}

}  // namespace
