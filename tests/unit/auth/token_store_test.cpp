// Token lifecycle with a fake clock over in-memory storage.
#include "broker/auth/token_store.hpp"

#include <gtest/gtest.h>

#include "broker/storage/inmem_backend.hpp"

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

  storage::inmem_backend backend_;
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

// One line per refused request: what the parent is, what it asks, Vault's error text.
struct refusal {
  std::vector<std::string> parent_policies;
  bool privileged;
  std::function<void(token_request&)> ask;
  const char* error;
};

TEST_F(tokens, refusals) {
  const std::vector<refusal> cases = {
      {{"dev"}, false, [](token_request& r) { r.policies = std::vector<std::string>{"admin"}; }, "child policies must be subset of parent"},
      {{"dev"}, false, [](token_request& r) { r.no_parent = true; }, "root or sudo privileges required to create orphan token"},
      {{"dev"}, false, [](token_request& r) { r.id = "custom"; }, "root or sudo privileges required to specify token id"},
      {{"dev"}, true, [](token_request& r) { r.policies = std::vector<std::string>{"root"}; }, "root tokens may not be created without parent token being root"},
      {{"dev"}, false, [](token_request& r) { r.num_uses = -1; }, "number of uses cannot be negative"},
      {{"dev"}, false, [](token_request& r) { r.ttl = seconds(-1); }, "ttl, explicit_max_ttl and period cannot be negative"},
      {{"root"}, false, [](token_request& r) { r.id = "has.period"; }, "token IDs can not contain periods"},
  };
  for (const auto& c : cases) {
    identity parent{c.parent_policies, "token", "acc"};
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
