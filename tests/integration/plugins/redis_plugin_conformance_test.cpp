// The plugin conformance kit (tests/support/plugin_conformance.hpp) on the Redis plugin against the
// real Redis 7 started by scripts/test-servers.sh. The run logs in as an ACL user of its own.
#include <hiredis/hiredis.h>

#include <memory>

#include "broker/core/random.hpp"
#include "broker/plugin/registry.hpp"
#include "plugins/builtin.hpp"
#include "support/env.hpp"
#include "support/plugin_conformance.hpp"

namespace credbroker::test {
namespace {

// One hiredis session; each command is sent as an argument vector (no string building).
class redis_session {
 public:
  redis_session(const std::string& host, int port) : c_(redisConnect(host.c_str(), port)) {}
  ~redis_session() {
    if (c_ != nullptr) redisFree(c_);
  }
  redis_session(const redis_session&) = delete;
  redis_session& operator=(const redis_session&) = delete;
  // The reply's type and its elements' strings (for arrays); REDIS_REPLY_ERROR on failure.
  std::pair<int, std::vector<std::string>> run(const std::vector<std::string>& args) {
    if (c_ == nullptr || c_->err) return {REDIS_REPLY_ERROR, {}};
    std::vector<const char*> p;
    std::vector<std::size_t> l;
    for (const auto& a : args) {
      p.push_back(a.data());
      l.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(p.size()), p.data(), l.data()));
    if (r == nullptr) return {REDIS_REPLY_ERROR, {}};
    std::pair<int, std::vector<std::string>> out{r->type, {}};
    for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
      out.second.emplace_back(r->element[i]->str, r->element[i]->len);
    }
    freeReplyObject(r);
    return out;
  }
  bool ok(const std::vector<std::string>& args) { return run(args).first != REDIS_REPLY_ERROR; }

 private:
  redisContext* c_;
};

class redis_database_under_test final : public database_under_test {
 public:
  redis_database_under_test()
      : host_(env_or_fail("CREDBROKER_TEST_REDIS_HOST")),
        port_(std::stoi(env_or_fail("CREDBROKER_TEST_REDIS_PORT"))),
        root_("KITROOT" + random_alnum(8)),
        prefix_("KIT" + random_alnum(6) + "_"),
        root_password_("Root-" + random_alnum(24)) {
    plugins::register_builtin_plugins(registry_);
    EXPECT_TRUE(admin()->ok({"ACL", "SETUSER", root_, "on", ">" + root_password_, "~*", "&*", "+@all"}));
  }
  ~redis_database_under_test() override {
    auto a = admin();
    auto users = a->run({"ACL", "USERS"}).second;
    for (const auto& u : users) {
      if (u.rfind(prefix_, 0) == 0 || u == root_) a->run({"ACL", "DELUSER", u});
    }
  }
  std::unique_ptr<plugin::database_plugin> make() override {
    auto p = registry_.create("redis-database-plugin");
    EXPECT_TRUE(p.ok());
    return p.ok() ? std::move(*p) : nullptr;
  }
  nlohmann::json config() override {
    return {{"host", host_}, {"port", port_}, {"username", root_}, {"password", root_password_},
            {"username_template", prefix_ + "{{random 20}}"}};
  }
  std::string prefix() override { return prefix_; }
  std::vector<std::string> creation_statements() override { return {R"(["~kit:*", "+@read"])"}; }
  std::vector<std::string> bad_creation_statements() override { return {R"(["~kit:*", "+@no-such-category"])"}; }
  bool logs_in(const std::string& user, const std::string& password) override {
    redis_session s(host_, port_);
    return s.run({"AUTH", user, password}).first == REDIS_REPLY_STATUS;
  }
  std::string root_user() override { return root_; }
  void set_root_password_out_of_band(const std::string& password) override {
    root_password_ = password;
    EXPECT_TRUE(admin()->ok({"ACL", "SETUSER", root_, "resetpass", ">" + password}));
  }

 private:
  // The test servers' admin login.
  std::unique_ptr<redis_session> admin() {
    auto s = std::make_unique<redis_session>(host_, port_);
    EXPECT_TRUE(s->ok({"AUTH", env_or_fail("CREDBROKER_TEST_REDIS_USER"), env_or_fail("CREDBROKER_TEST_REDIS_PASSWORD")}));
    return s;
  }
  plugin::registry registry_;
  std::string host_;
  int port_;
  std::string root_, prefix_, root_password_;
};

INSTANTIATE_TEST_SUITE_P(redis, plugin_conformance,
                         ::testing::Values(named_plugin{"redis", [] { return std::make_unique<redis_database_under_test>(); }}),
                         plugin_name);

}  // namespace
}  // namespace credbroker::test
