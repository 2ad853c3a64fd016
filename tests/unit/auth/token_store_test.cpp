// Token lifecycle with a fake clock over in-memory storage.
#include "broker/auth/token_store.hpp"

#include <gtest/gtest.h>

#include "support/test_store.hpp"
#include "broker/storage/rename.hpp"

namespace credbroker::auth {
namespace {

using std::chrono::seconds;

class tokens : public testing::Test {
 protected:
  tokens() : store_(backend_, clock_, {seconds(3600), seconds(7200)}) {
    store_.on_revoke([this](const std::string& a) { revoked_.push_back(a); });
    auto root = store_.create_root();
    EXPECT_TRUE(root);
    root_token_ = *root;
    root_ = *store_.authenticate(root_token_);
  }

  issued_token make(const identity& parent, token_request r, bool privileged = false) {
    auto t = store_.create(&parent, privileged, std::move(r));
    EXPECT_TRUE(t) << (t ? "" : t.err().message);
    return t ? *t : issued_token{};
  }

  test::test_store backend_;
  fake_clock clock_;
  token_store store_;
  secret root_token_;
  identity root_;
  std::vector<std::string> revoked_;
};

TEST_F(tokens, create_defaults_as_vault) {
  token_request r;
  r.policies = std::vector<std::string>{"Dev", " ops ", "dev"};
  r.display_name = "my app";
  auto t = make(root_, r);
  EXPECT_EQ(t.entry.policies, (std::vector<std::string>{"default", "dev", "ops"}));
  EXPECT_EQ(t.ttl, 3600);  // the system default
  EXPECT_TRUE(t.entry.renewable);
  EXPECT_FALSE(t.entry.orphan);
  EXPECT_EQ(t.entry.display_name, "token-my-app");
  EXPECT_EQ(t.token.reveal().rfind("hvs.", 0), 0u);
  auto id = store_.authenticate(t.token);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->policies, t.entry.policies);
  // A child of root without policies is a root token without expiry.
  auto child = make(root_, {});
  EXPECT_EQ(child.entry.policies, std::vector<std::string>{"root"});
  EXPECT_EQ(child.ttl, 0);
  EXPECT_FALSE(child.entry.renewable);
}

TEST_F(tokens, the_clear_token_is_never_stored) {
  auto t = make(root_, {});
  for (const auto& [k, v] : backend_.snapshot()) {
    EXPECT_EQ(k.find(t.token.reveal()), std::string::npos);
    EXPECT_EQ(v.find(t.token.reveal()), std::string::npos);
    EXPECT_EQ(v.find(root_token_.reveal()), std::string::npos);
  }
}

// One line per refused request: who the parent is (privileged: root or sudo on the create path),
// what it asks, Vault's error text.
struct refusal {
  const char* name;
  std::vector<std::string> parent_policies;
  bool privileged;
  std::function<void(token_request&)> ask;
  const char* error;
  bool limited_uses = false;
  bool expires = false;
};

TEST_F(tokens, refusals) {
  const auto orphan = [](token_request& r) {  // auth/token/create-orphan
    r.no_parent = true;
    r.orphan_allowed = true;
  };
  const std::vector<refusal> cases = {
      {"policy outside the parent's", {"dev"}, false, [](token_request& r) { r.policies = std::vector<std::string>{"admin"}; },
       "child policies must be subset of parent"},
      {"no_parent without sudo", {"dev"}, false, [](token_request& r) { r.no_parent = true; },
       "root or sudo privileges required to create orphan token"},
      {"custom id without sudo", {"dev"}, false, [](token_request& r) { r.id = "custom"; },
       "root or sudo privileges required to specify token id"},
      {"root policy from a sudo non-root", {"dev"}, true, [](token_request& r) { r.policies = std::vector<std::string>{"root"}; },
       "root tokens may not be created without parent token being root"},
      {"negative uses", {"dev"}, false, [](token_request& r) { r.num_uses = -1; }, "number of uses cannot be negative"},
      {"negative ttl", {"dev"}, false, [](token_request& r) { r.ttl = seconds(-1); },
       "ttl, explicit_max_ttl and period cannot be negative"},
      {"period in the id", {"root"}, false, [](token_request& r) { r.id = "has.period"; }, "token IDs can not contain periods"},
      // Periodic tokens renew forever: root or sudo only, on create and on create-orphan alike.
      {"period without sudo", {"dev"}, false, [](token_request& r) { r.period = seconds(3600); },
       "root or sudo privileges required to create periodic token"},
      {"periodic orphan without sudo", {"dev"}, false, [&](token_request& r) { orphan(r); r.period = seconds(60); },
       "root or sudo privileges required to create periodic token"},
      {"periodic orphan with explicit max, no sudo", {"dev", "default"}, false,
       [&](token_request& r) { orphan(r); r.period = seconds(1); r.explicit_max_ttl = seconds(60); },
       "root or sudo privileges required to create periodic token"},
      // A token with limited uses would escape its count through children, even with sudo.
      {"child of a limited-use token", {"dev"}, false, [](token_request&) {}, "restricted use token cannot generate child tokens", true},
      {"orphan of a limited-use sudo token", {"dev"}, true, [&](token_request& r) { orphan(r); },
       "restricted use token cannot generate child tokens", true},
      {"limited-use root", {"root"}, false, [](token_request&) {}, "restricted use token cannot generate child tokens", true},
      // An expiring root token may not mint a root token that never expires.
      {"never-expiring child of an expiring root", {"root"}, false, [](token_request&) {},
       "expiring root tokens cannot create non-expiring root tokens", false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    identity parent{c.parent_policies, "token", "acc"};
    parent.limited_uses = c.limited_uses;
    parent.expires = c.expires;
    token_request r;
    c.ask(r);
    auto t = store_.create(&parent, c.privileged, r);
    ASSERT_FALSE(t) << c.error;
    EXPECT_EQ(t.err().message, c.error);
  }
  // Allowed: a subset, "default" always, and orphans through create-orphan.
  identity dev{{"default", "dev"}, "token", root_.accessor};
  token_request ok;
  ok.policies = std::vector<std::string>{"dev", "default"};
  ok.orphan_allowed = true;
  ok.no_parent = true;
  EXPECT_TRUE(store_.create(&dev, false, ok));
}

TEST_F(tokens, sudo_creates_periodic_tokens_and_orphans_capped_at_the_max_ttl) {
  identity ops{{"default", "ops"}, "token", root_.accessor};
  token_request r;
  r.period = seconds(10'000);  // above the system max of 7200
  r.no_parent = true;
  auto t = make(ops, r, /*privileged=*/true);
  EXPECT_EQ(t.ttl, 7200);
  EXPECT_EQ(t.entry.period, 7200);
  EXPECT_TRUE(t.entry.orphan);
  EXPECT_EQ(t.entry.policies, (std::vector<std::string>{"default", "ops"}));
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_EQ(t.warnings[0], "period of \"2h46m40s\" exceeded the effective max_ttl of \"2h\"; period value is capped accordingly");
  clock_.advance(seconds(7000));
  auto renewed = store_.renew(t.token, seconds(0));
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->ttl, 7200);  // a period renews to itself, never past the max_ttl

  token_request e;
  e.explicit_max_ttl = seconds(100'000);
  e.ttl = seconds(600);
  auto capped = make(ops, e, true);
  EXPECT_EQ(capped.entry.explicit_max_ttl, 7200);
  ASSERT_EQ(capped.warnings.size(), 1u);
  EXPECT_EQ(capped.warnings[0],
            "explicit_max_ttl of \"27h46m40s\" exceeded the effective max_ttl of \"2h\"; explicit_max_ttl value is capped accordingly");

  // A period under an explicit max: renewals stop at creation + explicit_max_ttl.
  token_request pe;
  pe.period = seconds(60);
  pe.explicit_max_ttl = seconds(100);
  auto bounded = make(root_, pe);
  EXPECT_EQ(bounded.ttl, 60);
  clock_.advance(seconds(50));
  auto again = store_.renew(bounded.token, seconds(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ttl, 50);
  clock_.advance(seconds(50));
  EXPECT_FALSE(store_.authenticate(bounded.token));
}

TEST_F(tokens, policies_resolve_as_vault) {
  // Inherited policies keep "default" only if the parent has it.
  identity plain{{"dev"}, "token", root_.accessor};
  EXPECT_EQ(make(plain, {}).entry.policies, std::vector<std::string>{"dev"});
  identity with_default{{"default", "dev"}, "token", root_.accessor};
  EXPECT_EQ(make(with_default, {}).entry.policies, (std::vector<std::string>{"default", "dev"}));
  // Asked for: a subset, plus "default" if the parent has it; with sudo "default" always.
  token_request subset;
  subset.policies = std::vector<std::string>{"DEV "};
  EXPECT_EQ(make(plain, subset).entry.policies, std::vector<std::string>{"dev"});
  EXPECT_EQ(make(plain, subset, true).entry.policies, (std::vector<std::string>{"default", "dev"}));
  token_request other;
  other.policies = std::vector<std::string>{"admin"};
  EXPECT_EQ(make(plain, other, true).entry.policies, (std::vector<std::string>{"admin", "default"}));
  other.no_default_policy = true;
  EXPECT_EQ(make(plain, other, true).entry.policies, std::vector<std::string>{"admin"});
  // "root" stands alone.
  token_request rooted;
  rooted.policies = std::vector<std::string>{"dev", "root"};
  EXPECT_EQ(make(root_, rooted).entry.policies, std::vector<std::string>{"root"});
}

TEST_F(tokens, ttl_caps_and_renewal) {
  token_request r;
  r.ttl = seconds(10'000);  // above the system max of 7200
  auto t = make(root_, r);
  EXPECT_EQ(t.ttl, 7200);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("exceeded the effective max_ttl"), std::string::npos);

  token_request e;
  e.ttl = seconds(600);
  e.explicit_max_ttl = seconds(900);
  auto capped = make(root_, e);
  clock_.advance(seconds(500));
  auto renewed = store_.renew(capped.token, seconds(0));  // own TTL (600) but max 900 from creation
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->ttl, 400);
  EXPECT_EQ(renewed->warnings.size(), 1u);
  clock_.advance(seconds(400));
  EXPECT_FALSE(store_.authenticate(capped.token));  // expired: revoked when presented
  EXPECT_FALSE(store_.lookup(capped.token));

  token_request nr;
  nr.renewable = false;
  auto fixed = make(root_, nr);
  auto refused = store_.renew(fixed.token, seconds(0));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().message, "lease is not renewable");

  token_request p;
  p.period = seconds(60);
  auto periodic = make(root_, p);
  EXPECT_EQ(periodic.ttl, 60);
  clock_.advance(seconds(50));
  auto again = store_.renew(periodic.token, seconds(5000));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ttl, 60);  // a periodic token always renews to its period
}

TEST_F(tokens, revoking_a_parent_revokes_children_but_not_orphans) {
  auto parent = make(root_, {});
  const identity pid = *store_.authenticate(parent.token);
  auto child = make(pid, {});
  const identity cid = *store_.authenticate(child.token);
  auto grandchild = make(cid, {});
  token_request o;
  o.no_parent = true;
  auto orphan = make(pid, o, true);
  EXPECT_TRUE(orphan.entry.orphan);

  ASSERT_TRUE(store_.revoke(parent.token));
  EXPECT_FALSE(store_.authenticate(parent.token));
  EXPECT_FALSE(store_.authenticate(child.token));
  EXPECT_FALSE(store_.authenticate(grandchild.token));
  EXPECT_TRUE(store_.authenticate(orphan.token));
  // Children first, and every revoked token reported to the listeners (the leases seam).
  ASSERT_EQ(revoked_.size(), 3u);
  EXPECT_EQ(revoked_[0], grandchild.entry.accessor);
  EXPECT_EQ(revoked_[1], child.entry.accessor);
  EXPECT_EQ(revoked_[2], parent.entry.accessor);
  EXPECT_TRUE(store_.revoke(parent.token));  // idempotent
}

TEST_F(tokens, revoke_orphan_keeps_the_children) {
  auto parent = make(root_, {});
  const identity pid = *store_.authenticate(parent.token);
  auto child = make(pid, {});
  ASSERT_TRUE(store_.revoke_orphan(parent.token));
  EXPECT_FALSE(store_.authenticate(parent.token));
  auto c = store_.lookup(child.token);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->orphan);
  EXPECT_TRUE(c->parent.empty());
}

TEST_F(tokens, an_expired_parent_takes_its_children_along) {
  token_request shortlived;
  shortlived.ttl = seconds(60);
  auto parent = make(root_, shortlived);
  const identity pid = *store_.authenticate(parent.token);
  token_request longer;
  longer.ttl = seconds(3000);
  auto child = make(pid, longer);
  clock_.advance(seconds(61));
  EXPECT_FALSE(store_.authenticate(child.token));
  EXPECT_EQ(store_.tidy(), 1u);  // the parent, which nobody presented
  EXPECT_FALSE(store_.lookup(parent.token));
}

TEST_F(tokens, num_uses_are_spent) {
  token_request r;
  r.num_uses = 2;
  auto t = make(root_, r);
  EXPECT_TRUE(store_.authenticate(t.token));
  EXPECT_EQ(store_.lookup(t.token)->num_uses, 1);
  EXPECT_TRUE(store_.authenticate(t.token));  // the last use still works...
  EXPECT_FALSE(store_.authenticate(t.token));  // ...and then the token is gone
}

TEST_F(tokens, accessors_look_up_renew_and_revoke) {
  auto t = make(root_, {});
  auto byacc = store_.lookup_accessor(t.entry.accessor);
  ASSERT_TRUE(byacc);
  EXPECT_EQ(byacc->policies, t.entry.policies);
  EXPECT_FALSE(store_.lookup_accessor("nope"));
  EXPECT_FALSE(store_.lookup_accessor("../x"));
  auto listed = store_.list_accessors();
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);  // the fixture's root token and t
  ASSERT_TRUE(store_.revoke_accessor(t.entry.accessor));
  EXPECT_FALSE(store_.authenticate(t.token));
}

TEST_F(tokens, no_accessor_is_a_storage_key) {
  auto parent = make(root_, {});
  const identity pid = *store_.authenticate(parent.token);
  auto child = make(pid, {});
  for (const auto& [k, v] : backend_.snapshot()) {
    for (const auto* a : {&root_.accessor, &parent.entry.accessor, &child.entry.accessor}) {
      EXPECT_EQ(k.find(*a), std::string::npos) << k;
    }
  }
  auto listed = store_.list_accessors();
  ASSERT_TRUE(listed);
  std::vector<std::string> want{root_.accessor, parent.entry.accessor, child.entry.accessor};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
}

TEST_F(tokens, a_store_without_its_salt_refuses_instead_of_making_one_up) {
  ASSERT_TRUE(backend_.remove(token_store::salt_key));
  token_store after(backend_, clock_);  // a restart: nothing cached
  EXPECT_FALSE(after.authenticate(root_token_));
  auto t = after.create(&root_, false, {});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.err().code, make_error_code(errc::integrity_failure));
  EXPECT_EQ(t.err().message, "the token salt (auth/token/salt) is missing from storage");
  EXPECT_FALSE(backend_.get(token_store::salt_key)->has_value());  // still missing: nothing made up
}

// Layout 1 (the first release) named the accessor and parent indexes after the clear accessors.
class tokens_layout_1 : public tokens {
 protected:
  // Rewrites the indexes as the first release wrote them.
  void to_layout_1() {
    std::vector<token_entry> entries;
    ASSERT_TRUE(backend_.scan("auth/token/id/", [&](const std::string&, std::string_view v) {
      entries.push_back(*token_entry_from_json(v));
      return true;
    }));
    const auto clear = [&](std::string_view hashed) -> result<std::optional<std::string>> {
      for (const auto& e : entries) {
        if (*store_.accessor_key(e.accessor) == hashed) return std::optional<std::string>(e.accessor);
      }
      return std::optional<std::string>();
    };
    ASSERT_TRUE(storage::rename_children(backend_, "auth/token/accessor/", clear));
    ASSERT_TRUE(storage::rename_children(backend_, "auth/token/parent/", clear));
    auto parents = backend_.list("auth/token/parent/");
    ASSERT_TRUE(parents);
    for (const auto& p : *parents) ASSERT_TRUE(storage::rename_children(backend_, "auth/token/parent/" + p, clear));
    for (const auto& e : entries) ASSERT_TRUE(backend_.get("auth/token/accessor/" + e.accessor)->has_value());
    store_.clear_cache();
  }
  bool clear_accessor_in_keys(const std::vector<std::string>& accessors) {
    for (const auto& [k, v] : backend_.snapshot()) {
      for (const auto& a : accessors) {
        if (k.find(a) != std::string::npos) return true;
      }
    }
    return false;
  }
};

TEST_F(tokens_layout_1, salting_the_indexes_keeps_every_token_working) {
  auto parent = make(root_, {});
  const identity pid = *store_.authenticate(parent.token);
  auto child = make(pid, {});
  const identity cid = *store_.authenticate(child.token);
  auto grandchild = make(cid, {});
  const std::vector<std::string> accessors{root_.accessor, parent.entry.accessor, child.entry.accessor,
                                           grandchild.entry.accessor};
  to_layout_1();
  ASSERT_TRUE(clear_accessor_in_keys(accessors));

  ASSERT_TRUE(store_.salt_accessor_keys());
  EXPECT_FALSE(clear_accessor_in_keys(accessors));
  const auto once = backend_.snapshot();
  ASSERT_TRUE(store_.salt_accessor_keys());  // idempotent
  EXPECT_EQ(backend_.snapshot(), once);

  for (const auto& a : accessors) EXPECT_TRUE(store_.lookup_accessor(a)) << a;
  EXPECT_TRUE(store_.authenticate(grandchild.token));
  ASSERT_TRUE(store_.revoke_accessor(parent.entry.accessor));  // the parent index still links them
  EXPECT_FALSE(store_.authenticate(child.token));
  EXPECT_FALSE(store_.authenticate(grandchild.token));
  EXPECT_TRUE(store_.authenticate(root_token_));
}

TEST_F(tokens_layout_1, an_upgrade_cut_half_way_finishes_when_run_again) {
  auto parent = make(root_, {});
  const identity pid = *store_.authenticate(parent.token);
  std::vector<issued_token> kids;
  for (int i = 0; i < 5; ++i) kids.push_back(make(pid, {}));
  to_layout_1();
  // As if the last run stopped after the accessor index and two children of the parent's folder.
  const auto salted = [&](std::string_view n) { return store_.rename_accessor(n); };
  ASSERT_TRUE(storage::rename_children(backend_, "auth/token/accessor/", salted));
  const std::string old_dir = "auth/token/parent/" + parent.entry.accessor + "/";
  const std::string new_dir = "auth/token/parent/" + *store_.accessor_key(parent.entry.accessor) + "/";
  auto some = *backend_.list(old_dir);
  ASSERT_EQ(some.size(), 5u);
  for (int i = 0; i < 2; ++i) {
    std::vector<storage::operation> ops;
    ops.push_back(storage::operation::put(new_dir + some[i], ""));
    ops.push_back(storage::operation::remove(old_dir + some[i]));
    ASSERT_TRUE(backend_.apply(std::move(ops)));
  }

  ASSERT_TRUE(store_.salt_accessor_keys());
  EXPECT_TRUE(backend_.list(old_dir)->empty());
  EXPECT_EQ(backend_.list(new_dir)->size(), 5u);
  ASSERT_TRUE(store_.revoke(parent.token));
  for (const auto& k : kids) EXPECT_FALSE(store_.authenticate(k.token));
}

TEST_F(tokens, revoke_mount_revokes_only_that_methods_tokens) {
  token_request a;
  a.mount = "approle/";
  a.path = "auth/approle/login";
  auto viaapprole = store_.create(nullptr, true, a);
  ASSERT_TRUE(viaapprole);
  EXPECT_TRUE(viaapprole->entry.orphan);
  EXPECT_EQ(viaapprole->entry.display_name, "approle");
  auto plain = make(root_, {});
  ASSERT_TRUE(store_.revoke_mount("approle/"));
  EXPECT_FALSE(store_.authenticate(viaapprole->token));
  EXPECT_TRUE(store_.authenticate(plain.token));
}

}  // namespace
}  // namespace credbroker::auth
