// standby_forwarding: which requests a standby serves itself, and its answers when it cannot forward
// (no active known, redirect mode, X-Vault-No-Request-Forwarding, a request forwarded once already).
// The forwarding round trip itself runs between real servers in tests/integration/ha/three_node_test.py.
#include "api/standby_forwarding.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace credbroker::api {
namespace {

class fake_node final : public node_status {
 public:
  seal_snapshot status() const override {
    seal_snapshot s;
    s.initialized = true;
    s.sealed = sealed;
    s.standby = ha_on && !active;
    return s;
  }
  ha_snapshot ha() const override {
    ha_snapshot h;
    h.enabled = ha_on;
    h.active = active;
    h.leader_address = leader;
    return h;
  }
  bool ha_on = true;
  bool active = false;
  bool sealed = false;
  std::string leader = "http://10.0.0.5:8200";
};

class inner_api final : public request_handler {
 public:
  head_decision inspect(const raw_request&) const override {
    head_decision d;
    d.needs_token = true;
    return d;
  }
  std::optional<raw_response> authenticate(raw_request&) const override { return std::nullopt; }
  raw_response handle(const raw_request&) const override {
    ++handled;
    raw_response r;
    r.status = 200;
    r.body = "{\"here\":true}";
    return r;
  }
  std::string loggable_path(std::string_view t) const override { return std::string(t); }
  mutable std::atomic<int> handled{0};
};

raw_request get(std::string target) {
  raw_request r;
  r.method = "GET";
  r.target = std::move(target);
  r.remote = "127.0.0.1:5000";
  return r;
}

TEST(standby_forwarding, serves_its_own_status_paths_and_passes_everything_on_an_active_node) {
  fake_node node;
  inner_api inner;
  standby_forwarding gate(node, inner, {});
  for (const char* t : {"/v1/sys/health", "/v1/sys/health?standbyok=true", "/v1/sys/seal-status", "/v1/sys/leader",
                        "/v1/sys/init", "/v1/sys/unseal"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(gate.handle(get(t)).status, 200);
    EXPECT_TRUE(gate.inspect(get(t)).needs_token);  // the API's own decision
  }
  node.active = true;
  EXPECT_EQ(gate.handle(get("/v1/database/creds/app")).body, "{\"here\":true}");
  node.active = false;
  node.ha_on = false;
  EXPECT_EQ(gate.handle(get("/v1/database/creds/app")).status, 200);
  node.ha_on = true;
  node.sealed = true;  // a sealed standby answers as any sealed node
  EXPECT_EQ(gate.handle(get("/v1/database/creds/app")).status, 200);
  EXPECT_EQ(inner.handled.load(), 9);
}

TEST(standby_forwarding, a_standby_answers_what_vault_answers_when_it_cannot_forward) {
  struct row {
    const char* name;
    std::string leader;
    bool redirect;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
    std::string location_or_error;
  };
  const std::vector<row> rows = {
      {"no active known", "", false, {}, 503, "no active Vault instance found"},
      {"redirect mode", "http://10.0.0.5:8200", true, {}, 307, "http://10.0.0.5:8200/v1/database/creds/app?x=1"},
      {"asked not to forward", "http://10.0.0.5:8200", false, {{"x-vault-no-request-forwarding", "true"}}, 307,
       "http://10.0.0.5:8200/v1/database/creds/app?x=1"},
      {"https active: redirected", "https://vault.internal:8200/", false, {}, 307,
       "https://vault.internal:8200/v1/database/creds/app?x=1"},
      {"forwarded once already", "http://10.0.0.5:8200", false, {{"x-credbroker-forwarded", "1"}}, 503,
       "no active Vault instance found"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    fake_node node;
    node.leader = r.leader;
    inner_api inner;
    standby_forwarding gate(node, inner, {r.redirect});
    auto req = get("/v1/database/creds/app?x=1");
    req.headers = r.headers;
    const auto d = gate.inspect(req);
    EXPECT_FALSE(d.refuse);
    EXPECT_FALSE(d.needs_token);  // the active checks the token
    const auto res = gate.handle(req);
    EXPECT_EQ(res.status, r.status);
    if (r.status == 307) {
      ASSERT_FALSE(res.headers.empty());
      EXPECT_EQ(res.headers.front(), (std::pair<std::string, std::string>{"Location", r.location_or_error}));
    } else {
      EXPECT_NE(res.body.find(r.location_or_error), std::string::npos) << res.body;
    }
    EXPECT_EQ(inner.handled.load(), 0);
  }
}

TEST(standby_forwarding, an_unreachable_active_is_a_503_naming_it) {
  fake_node node;
  node.leader = "http://127.0.0.1:1";  // nothing listens on port 1
  inner_api inner;
  standby_forwarding gate(node, inner, {});
  const auto res = gate.handle(get("/v1/database/creds/app"));
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("the active node at http://127.0.0.1:1 could not be reached"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace credbroker::api
