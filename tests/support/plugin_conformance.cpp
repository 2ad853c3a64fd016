// The checks of the plugin conformance kit (plugin_conformance.hpp): what the broker relies on from
// every database plugin, in the words of database_plugin.hpp.
#include "support/plugin_conformance.hpp"

#include <set>
#include <thread>

#include "broker/core/random.hpp"

namespace credbroker::test {
namespace {

using std::chrono::hours;

plugin::username_metadata meta() { return {"token", "kit"}; }

std::string password() { return "Kit-" + random_alnum(24); }

// Makes one user with the database's own creation statements; returns its name.
std::string make_user(plugin::database_plugin& p, database_under_test& db, const std::string& pw) {
  auto name = p.generate_username(meta());
  EXPECT_TRUE(name.ok()) << name.err().message;
  if (!name.ok()) return "";
  plugin::new_user_request req{*name, db.creation_statements(), {}, secret(pw),
                               std::chrono::system_clock::now() + hours(1)};
  auto r = p.new_user(req);
  EXPECT_TRUE(r.ok()) << r.err().message;
  return *name;
}

bool exists(plugin::database_plugin& p, const std::string& user) {
  auto r = p.user_exists(user);
  EXPECT_TRUE(r.ok()) << r.err().message;
  return r.ok() && *r;
}

}  // namespace

std::unique_ptr<plugin::database_plugin> plugin_conformance::connected(const std::string& boot) {
  auto p = db().make();
  plugin::initialize_request req{db().config(), true, boot};
  auto r = p->initialize(req);
  EXPECT_TRUE(r.ok()) << r.err().message;
  return p;
}

TEST_P(plugin_conformance, initialize_verifies_and_verify_probes) {
  auto p = connected();
  EXPECT_FALSE(p->type().empty());
  EXPECT_TRUE(p->verify().ok());
}

TEST_P(plugin_conformance, generated_usernames_are_distinct_and_follow_the_template) {
  auto p = connected();
  std::set<std::string> names;
  for (int i = 0; i < 50; ++i) {
    auto n = p->generate_username(meta());
    ASSERT_TRUE(n.ok()) << n.err().message;
    EXPECT_EQ(n->rfind(db().prefix(), 0), 0u) << *n;
    names.insert(*n);
  }
  EXPECT_EQ(names.size(), 50u);
}

TEST_P(plugin_conformance, a_new_user_exists_and_logs_in_with_its_password_only) {
  auto p = connected();
  const std::string pw = password();
  const std::string user = make_user(*p, db(), pw);
  EXPECT_TRUE(exists(*p, user));
  EXPECT_TRUE(db().logs_in(user, pw));
  EXPECT_FALSE(db().logs_in(user, pw + "x"));
}

TEST_P(plugin_conformance, a_refused_creation_leaves_no_user) {
  auto p = connected();
  auto name = p->generate_username(meta());
  ASSERT_TRUE(name.ok());
  const std::string pw = password();
  plugin::new_user_request req{*name, db().bad_creation_statements(), {}, secret(pw),
                               std::chrono::system_clock::now() + hours(1)};
  auto r = p->new_user(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message.find(pw), std::string::npos) << "the error repeats the password";
  EXPECT_FALSE(exists(*p, *name));
}

TEST_P(plugin_conformance, unknown_users_do_not_exist) {
  auto p = connected();
  auto name = p->generate_username(meta());
  ASSERT_TRUE(name.ok());
  EXPECT_FALSE(exists(*p, *name));
}

TEST_P(plugin_conformance, delete_twice_is_fine) {
  auto p = connected();
  const std::string pw = password();
  const std::string user = make_user(*p, db(), pw);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto r = p->delete_user({user, {}});
    EXPECT_TRUE(r.ok()) << r.err().message;
    EXPECT_FALSE(exists(*p, user));
  }
  EXPECT_FALSE(db().logs_in(user, pw));
}

TEST_P(plugin_conformance, a_user_is_gone_only_once_deleted) {
  auto p = connected();
  const std::string user = make_user(*p, db(), password());
  auto gone = p->user_gone(user);
  ASSERT_TRUE(gone.ok()) << gone.err().message;
  EXPECT_FALSE(*gone);
  ASSERT_TRUE(p->delete_user({user, {}}).ok());
  gone = p->user_gone(user);
  ASSERT_TRUE(gone.ok()) << gone.err().message;
  EXPECT_TRUE(*gone);
}

TEST_P(plugin_conformance, deleting_a_user_never_made_is_fine) {
  auto p = connected();
  auto name = p->generate_username(meta());
  ASSERT_TRUE(name.ok());
  auto r = p->delete_user({*name, {}});
  EXPECT_TRUE(r.ok()) << r.err().message;
}

TEST_P(plugin_conformance, a_password_change_takes_the_old_one_away) {
  auto p = connected();
  const std::string old_pw = password(), new_pw = password();
  const std::string user = make_user(*p, db(), old_pw);
  plugin::update_user_request req{user, plugin::change_password{secret(new_pw), {}}, std::nullopt};
  auto r = p->update_user(req);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(db().logs_in(user, new_pw));
  EXPECT_FALSE(db().logs_in(user, old_pw));
}

TEST_P(plugin_conformance, an_expiration_change_keeps_the_login) {
  auto p = connected();
  const std::string pw = password();
  const std::string user = make_user(*p, db(), pw);
  plugin::update_user_request req{user, std::nullopt,
                                  plugin::change_expiration{std::chrono::system_clock::now() + hours(2), {}}};
  auto r = p->update_user(req);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(db().logs_in(user, pw));
}

TEST_P(plugin_conformance, verify_fails_after_the_root_password_changed) {
  auto p = connected();
  const nlohmann::json stale = db().config();
  const std::string old_pw = stale.value("password", "");
  const std::string changed = password();
  db().set_root_password_out_of_band(changed);
  auto r = p->verify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message.find(changed), std::string::npos) << r.err().message;
  EXPECT_EQ(r.err().message.find(old_pw), std::string::npos) << r.err().message;
  // A config with the old password is refused at initialize, without either password in the error;
  // the new one works.
  auto init = db().make()->initialize({stale, true, "conformance-boot"});
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.err().code, errc::unavailable) << init.err().message;
  EXPECT_EQ(init.err().message.find(old_pw), std::string::npos) << init.err().message;
  auto fresh = db().make()->initialize({db().config(), true, "conformance-boot"});
  EXPECT_TRUE(fresh.ok()) << fresh.err().message;
}

TEST_P(plugin_conformance, rotate_root_replaces_the_root_password) {
  auto p = connected();
  const nlohmann::json before = db().config();
  const std::string old_pw = before.value("password", "");
  const std::string new_pw = password();
  auto r = p->rotate_root({secret(new_pw), {}});
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->config.value("password", ""), new_pw);
  EXPECT_TRUE(db().logs_in(db().root_user(), new_pw));
  EXPECT_FALSE(db().logs_in(db().root_user(), old_pw));
  db().set_root_password_out_of_band(new_pw);  // keeps the fixture's bookkeeping (same password)
  EXPECT_TRUE(p->verify().ok());
  // The pool was re-made with the new password: issuance goes on.
  const std::string pw = password();
  const std::string user = make_user(*p, db(), pw);
  EXPECT_TRUE(db().logs_in(user, pw));
}

TEST_P(plugin_conformance, close_twice_is_fine_and_later_calls_fail_cleanly) {
  auto p = connected();
  EXPECT_TRUE(p->close().ok());
  EXPECT_TRUE(p->close().ok());
  EXPECT_FALSE(p->verify().ok());
  auto name = p->generate_username(meta());
  if (name.ok()) {
    plugin::new_user_request req{*name, db().creation_statements(), {}, secret(password()),
                                 std::chrono::system_clock::now() + hours(1)};
    EXPECT_FALSE(p->new_user(req).ok());
  }
}

TEST_P(plugin_conformance, end_sessions_refuses_its_own_boot_and_accepts_a_quiet_one) {
  auto p = connected("conformance-own");
  EXPECT_FALSE(p->end_sessions("conformance-own").ok());
  auto other = p->end_sessions("conformance-gone-" + random_alnum(8));
  EXPECT_TRUE(other.ok()) << other.err().message;
}

TEST_P(plugin_conformance, listed_users_include_a_new_one) {
  auto p = connected();
  const std::string user = make_user(*p, db(), password());
  auto listed = p->list_users();
  if (!listed.ok()) {
    EXPECT_EQ(listed.err().code, errc::unsupported_operation) << listed.err().message;
    return;
  }
  bool found = false;
  for (const auto& [node, users] : listed->nodes) {
    for (const auto& u : users) found = found || u == user;
  }
  EXPECT_TRUE(found) << user;
}

TEST_P(plugin_conformance, concurrent_issuance_makes_every_user) {
  auto p = connected();
  constexpr int threads = 6, each = 4;
  std::vector<std::vector<std::pair<std::string, std::string>>> made(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        const std::string pw = password();
        made[t].emplace_back(make_user(*p, db(), pw), pw);
      }
    });
  }
  for (auto& t : pool) t.join();
  std::set<std::string> names;
  for (const auto& per_thread : made) {
    for (const auto& [user, pw] : per_thread) {
      names.insert(user);
      EXPECT_TRUE(exists(*p, user)) << user;
    }
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(threads * each));
  EXPECT_TRUE(db().logs_in(made[0][0].first, made[0][0].second));
}

}  // namespace credbroker::test
