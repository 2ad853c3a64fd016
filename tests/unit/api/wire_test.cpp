// The Vault wire conventions, request in, response out, no sockets: one line per case.
#include <gtest/gtest.h>

#include <regex>

#include "api/service.hpp"
#include "support/json_match.hpp"

using namespace credbroker;
using namespace credbroker::api;
using nlohmann::json;

namespace {

const std::string root = "root-token-for-tests";

seal_snapshot unsealed() {
  seal_snapshot s;
  s.initialized = true;
  s.sealed = false;
  s.threshold = 3;
  s.shares = 5;
  s.storage_type = "inmem";
  s.cluster_name = "test-cluster";
  s.cluster_id = "id-1";
  return s;
}

// A mount with routes that exercise each convention.
std::shared_ptr<mount_table_entry> test_mount() {
  auto m = std::make_shared<mount_table_entry>();
  m->path = "test/";
  m->type = "test";
  route echo;
  echo.pattern = "echo/:name";
  echo.fields = {{"name", field_type::string}, {"ttl", field_type::duration}, {"count", field_type::integer},
                 {"flag", field_type::boolean}, {"items", field_type::comma_slice}};
  auto echo_handler = [](request& req, const field_data& fd) {
    json d = {{"op", to_string(req.op)}, {"name", req.captures.at("name")},
              {"ttl", fd.get_duration("ttl").value_or(std::chrono::seconds{-1}).count()},
              {"ttl_provided", fd.provided("ttl")}};
    if (auto c = fd.get_int("count")) d["count"] = *c;
    if (auto b = fd.get_bool("flag")) d["flag"] = *b;
    if (auto i = fd.get_strings("items")) d["items"] = *i;
    return reply::with_data(d);
  };
  echo.operations[operation::read] = echo_handler;
  echo.operations[operation::update] = echo_handler;
  echo.exists = [](const request& req) { return req.captures.at("name") == "existing"; };
  m->routes.push_back(echo);

  route items;
  items.pattern = "items/";
  items.operations[operation::list] = [](request&, const field_data&) {
    return reply::with_data({{"keys", {"a", "b/"}}});
  };
  m->routes.push_back(items);

  route none;
  none.pattern = "empty/";
  none.operations[operation::list] = [](request&, const field_data&) {
    return reply::with_data({{"keys", json::array()}});
  };
  m->routes.push_back(none);

  route quiet;
  quiet.pattern = "quiet";
  quiet.operations[operation::update] = [](request&, const field_data&) { return reply::empty(); };
  quiet.operations[operation::remove] = [](request&, const field_data&) { return reply::empty(); };
  m->routes.push_back(quiet);

  route boom;
  boom.pattern = "boom";
  boom.operations[operation::read] = [](request&, const field_data&) -> reply {
    throw std::runtime_error("secret detail that must not leak");
  };
  m->routes.push_back(boom);

  route failing;
  failing.pattern = "fail";
  failing.operations[operation::read] = [](request&, const field_data&) {
    return reply::fail(make_error(errc::invalid_request, "unknown role: x"));
  };
  failing.operations[operation::update] = [](request&, const field_data&) {
    return reply::fail(make_error(errc::internal, "database said no"));
  };
  m->routes.push_back(failing);
  return m;
}

struct wire_case {
  const char* name;
  std::string method;
  std::string target;
  bool with_token;
  std::string body;
  int status;
  json expect;  // subset of the response body; null: empty body expected
};

class wire : public ::testing::Test {
 protected:
  wire() : node_(unsealed()), authn_(secret(root)), svc_(node_, authn_) { svc_.routes().add_mount(test_mount()); }

  raw_response call(const std::string& method, const std::string& target, bool token, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    raw_request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers = std::move(extra);
    if (token) r.headers.emplace_back("x-vault-token", root);
    return svc_.handle(r);
  }

  fixed_node_status node_;
  auth::root_token_authenticator authn_;
  service svc_;
};

TEST_F(wire, conventions_table) {
  const json no_body = nullptr;
  const std::vector<wire_case> cases = {
      // routing and auth
      {"health needs no token", "GET", "/v1/sys/health", false, "", 200, {{"initialized", true}, {"sealed", false}}},
      {"unknown mount, token", "LIST", "/v1/nothing/here", true, "", 404,
       {{"errors", {"no handler for route \"nothing/here/\". route entry not found."}}}},
      {"unknown mount, no token", "LIST", "/v1/nothing/here", false, "", 403, {{"errors", {"permission denied"}}}},
      {"bad token", "GET", "/v1/test/echo/x", false, "", 403, {{"errors", {"permission denied"}}}},
      {"outside /v1", "GET", "/v2/sys/health", false, "", 404, {{"errors", json::array()}}},
      {"unsupported path under mount", "GET", "/v1/test/nope", true, "", 404,
       {{"errors", {"1 error occurred:\n\t* unsupported path\n\n"}}}},
      {"bad name segment", "GET", "/v1/test/echo/-bad-", true, "", 404,
       {{"errors", {"1 error occurred:\n\t* unsupported path\n\n"}}}},
      {"unsupported operation", "DELETE", "/v1/test/echo/x", true, "", 405,
       {{"errors", {"1 error occurred:\n\t* unsupported operation\n\n"}}}},
      {"unknown verb", "BREW", "/v1/test/echo/x", true, "", 405, {{"errors", json::array()}}},
      {"health rejects POST", "POST", "/v1/sys/health", false, "", 405, {{"errors", json::array()}}},
      // verbs
      {"GET reads", "GET", "/v1/test/echo/x", true, "", 200, {{"data", {{"op", "read"}, {"name", "x"}}}}},
      {"PUT on new is create", "PUT", "/v1/test/echo/x", true, "{}", 200, {{"data", {{"op", "create"}}}}},
      {"POST on new is create", "POST", "/v1/test/echo/x", true, "", 200, {{"data", {{"op", "create"}}}}},
      {"PUT on existing is update", "PUT", "/v1/test/echo/existing", true, "", 200, {{"data", {{"op", "update"}}}}},
      {"POST on existing is update", "POST", "/v1/test/echo/existing", true, "", 200, {{"data", {{"op", "update"}}}}},
      {"PATCH needs merge-patch type", "PATCH", "/v1/test/echo/x", true, "{}", 415,
       {{"errors", {"PATCH requires the Content-Type header to be application/merge-patch+json"}}}},
      // list
      {"LIST verb", "LIST", "/v1/test/items", true, "", 200, {{"data", {{"keys", {"a", "b/"}}}}}},
      {"LIST with slash", "LIST", "/v1/test/items/", true, "", 200, {{"data", {{"keys", {"a", "b/"}}}}}},
      {"GET list=true", "GET", "/v1/test/items?list=true", true, "", 200, {{"data", {{"keys", {"a", "b/"}}}}}},
      {"GET list=True (hvac)", "GET", "/v1/test/items?list=True", true, "", 200, {{"data", {{"keys", {"a", "b/"}}}}}},
      {"GET list=1 (node-vault)", "GET", "/v1/test/items?list=1", true, "", 200, {{"data", {{"keys", {"a", "b/"}}}}}},
      {"GET list=false reads", "GET", "/v1/test/echo/x?list=false", true, "", 200, {{"data", {{"op", "read"}}}}},
      {"GET list=maybe", "GET", "/v1/test/items?list=maybe", true, "", 400,
       {{"errors", {"invalid value for query parameter \"list\": \"maybe\" (expected true, false, 1, 0, t or f)"}}}},
      {"empty list is 404", "LIST", "/v1/test/empty", true, "", 404, {{"errors", json::array()}}},
      // 204 vs 200
      {"nothing to return is 204", "POST", "/v1/test/quiet", true, "{}", 204, no_body},
      {"DELETE with nothing is 204", "DELETE", "/v1/test/quiet", true, "", 204, no_body},
      // Vault's warning is not lost on a write that has nothing else to say: 200 carrying it.
      {"unknown keys on a quiet write", "POST", "/v1/test/quiet", true, R"({"zzz":1})", 200,
       {{"data", nullptr}, {"warnings", {"Endpoint ignored these unrecognized parameters: [zzz]"}}}},
      {"unknown keys tolerated with warning", "POST", "/v1/test/echo/x", true, R"({"zzz":1,"mount_point":"db"})", 200,
       {{"warnings", {"Endpoint ignored these unrecognized parameters: [mount_point zzz]"}}}},
      // parameters
      {"null parameters are not provided", "POST", "/v1/test/echo/x", true,
       R"({"ttl":null,"count":null,"flag":null,"items":null})", 200,
       {{"data", {{"ttl", -1}, {"ttl_provided", false}}}, {"warnings", nullptr}}},
      {"duration as seconds", "POST", "/v1/test/echo/x", true, R"({"ttl":90})", 200, {{"data", {{"ttl", 90}}}}},
      {"duration as string", "POST", "/v1/test/echo/x", true, R"({"ttl":"1h30m"})", 200, {{"data", {{"ttl", 5400}}}}},
      {"duration as numeric string", "POST", "/v1/test/echo/x", true, R"({"ttl":"90"})", 200, {{"data", {{"ttl", 90}}}}},
      {"duration bad", "POST", "/v1/test/echo/x", true, R"({"ttl":"soon"})", 400,
       {{"errors", {"Field validation failed: error converting input for field \"ttl\": time: invalid duration \"soon\""}}}},
      {"duration negative", "POST", "/v1/test/echo/x", true, R"({"ttl":-5})", 400,
       {{"errors", {"Field validation failed: error converting input for field \"ttl\": cannot provide negative value"}}}},
      {"int from string", "POST", "/v1/test/echo/x", true, R"({"count":"7"})", 200, {{"data", {{"count", 7}}}}},
      {"int bad", "POST", "/v1/test/echo/x", true, R"({"count":"seven"})", 400,
       {{"errors", {"Field validation failed: error converting input for field \"count\": strconv.ParseInt: parsing \"seven\": invalid syntax"}}}},
      {"bool weak", "POST", "/v1/test/echo/x", true, R"({"flag":"true"})", 200, {{"data", {{"flag", true}}}}},
      {"comma slice", "POST", "/v1/test/echo/x", true, R"({"items":"a, b,,c"})", 200,
       {{"data", {{"items", {"a", "b", "c"}}}}}},
      {"query string for reads", "GET", "/v1/test/echo/x?ttl=2m", true, "", 200, {{"data", {{"ttl", 120}}}}},
      {"bad JSON body", "POST", "/v1/test/echo/x", true, "{nope", 400,
       {{"errors", {"failed to parse JSON input: invalid JSON in request body"}}}},
      {"non-object body", "POST", "/v1/test/echo/x", true, "[1,2]", 400,
       {{"errors", {"failed to parse JSON input: expected a JSON object, got array"}}}},
      {"nesting at the limit", "POST", "/v1/test/echo/x", true,
       "{\"zzz\":" + std::string(999, '[') + std::string(999, ']') + "}", 200, {{"data", {{"op", "create"}}}}},
      {"nesting beyond the limit", "POST", "/v1/test/echo/x", true,
       "{\"zzz\":" + std::string(300000, '[') + std::string(300000, ']') + "}", 400,
       {{"errors", {"failed to parse JSON input: nested deeper than 1000 levels"}}}},
      {"brackets in strings do not nest", "POST", "/v1/test/echo/x", true,
       "{\"zzz\":\"" + std::string(5000, '[') + "\\\"\"}", 200, {{"data", {{"op", "create"}}}}},
      {"JSON null body", "POST", "/v1/test/echo/x", true, "null", 200, {{"data", {{"op", "create"}}}}},
      {"percent-decoded path", "GET", "/v1/test/echo/a%2Eb", true, "", 200, {{"data", {{"name", "a.b"}}}}},
      {"bad percent escape", "GET", "/v1/test/echo/a%zz", true, "", 400,
       {{"errors", {"invalid percent-encoding in request path"}}}},
      // errors
      {"handler 400", "GET", "/v1/test/fail", true, "", 400, {{"errors", {"unknown role: x"}}}},
      {"handler 500 is multierror", "POST", "/v1/test/fail", true, "", 500,
       {{"errors", {"1 error occurred:\n\t* database said no\n\n"}}}},
      {"exception is 500 without detail", "GET", "/v1/test/boom", true, "", 500,
       {{"errors", {"1 error occurred:\n\t* internal error\n\n"}}}},
      // health query codes
      {"health activecode", "GET", "/v1/sys/health?activecode=299", false, "", 299, {{"sealed", false}}},
      {"health bad code", "GET", "/v1/sys/health?activecode=x", false, "", 400,
       {{"errors", {"Field validation failed: error converting input for field \"activecode\": strconv.ParseInt: parsing \"x\": invalid syntax"}}}},
      {"health HEAD has no body", "HEAD", "/v1/sys/health", false, "", 200, no_body},
      {"seal-status", "GET", "/v1/sys/seal-status", false, "", 200,
       {{"type", "shamir"}, {"sealed", false}, {"t", 3}, {"n", 5}, {"progress", 0}, {"storage_type", "inmem"}}},
      {"init", "GET", "/v1/sys/init", false, "", 200, {{"initialized", true}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const raw_response r = call(c.method, c.target, c.with_token, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    ASSERT_FALSE(r.headers.empty());
    EXPECT_EQ(r.headers.front().first, "Content-Type");
    EXPECT_EQ(r.headers.front().second, "application/json");
    if (c.expect.is_null()) {
      EXPECT_TRUE(r.body.empty()) << r.body;
      continue;
    }
    const json body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << r.body;
    std::string why;
    EXPECT_TRUE(test::json_contains(body, c.expect, &why)) << why;
  }
}

// Form-encoded bodies, as Vault's isForm: the Content-Type says so and the body does not look like JSON.
TEST_F(wire, form_encoded_bodies) {
  const std::pair<std::string, std::string> form{"content-type", "application/x-www-form-urlencoded; charset=utf-8"};
  struct form_case {
    const char* name;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
    json expect;
  };
  const std::vector<form_case> cases = {
      {"fields", "ttl=1h30m&count=7&flag=true&items=a%2Cb&name=x", {form}, 200,
       {{"data", {{"ttl", 5400}, {"count", 7}, {"flag", true}, {"items", {"a", "b"}}}}}},
      {"repeated key joined with commas", "items=a&items=b+c", {form}, 200, {{"data", {{"items", {"a", "b c"}}}}}},
      {"JSON under a form type is JSON", R"({"ttl":"2m"})", {form}, 200, {{"data", {{"ttl", 120}}}}},
      {"a form without the type is not one", "ttl=2m", {}, 400,
       {{"errors", {"failed to parse JSON input: invalid JSON in request body"}}}},
      {"bad escape", "ttl=%zz", {form}, 400, {{"errors", {"error parsing form data"}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const raw_response r = call("POST", "/v1/test/echo/x", true, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << r.body;
    std::string why;
    EXPECT_TRUE(test::json_contains(json::parse(r.body), c.expect, &why)) << why << " in " << r.body;
  }
}

TEST_F(wire, envelope_has_every_vault_field) {
  const raw_response r = call("GET", "/v1/test/echo/x", true, "");
  const json body = json::parse(r.body);
  for (const char* key : {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings",
                          "auth", "mount_type"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
  EXPECT_TRUE(std::regex_match(body["request_id"].get<std::string>(),
                               std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")));
  EXPECT_EQ(body["lease_id"], "");
  EXPECT_EQ(body["lease_duration"], 0);
  EXPECT_EQ(body["wrap_info"], nullptr);
  EXPECT_EQ(body["auth"], nullptr);
  EXPECT_EQ(body["mount_type"], "test");
  EXPECT_NE(json::parse(call("GET", "/v1/test/echo/x", true, "").body)["request_id"], body["request_id"]);
}

TEST_F(wire, token_headers) {
  EXPECT_EQ(call("GET", "/v1/test/echo/x", false, "", {{"authorization", "Bearer " + root}}).status, 200);
  EXPECT_EQ(call("GET", "/v1/test/echo/x", false, "", {{"authorization", "Basic " + root}}).status, 403);
  // X-Vault-Token wins over Authorization.
  EXPECT_EQ(call("GET", "/v1/test/echo/x", false, "",
                 {{"x-vault-token", "wrong"}, {"authorization", "Bearer " + root}}).status, 403);
  // X-Vault-Request is ignored.
  EXPECT_EQ(call("GET", "/v1/test/echo/x", true, "", {{"x-vault-request", "true"}}).status, 200);
}

TEST_F(wire, exception_text_never_reaches_the_client_or_the_log) {
  // The log line names the exception's type only: an exception's text may carry a secret.
  const raw_response r = call("GET", "/v1/test/boom", true, "");
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);
}

TEST(wire_sealed, everything_but_open_routes_is_503) {
  seal_snapshot s;
  s.initialized = true;
  s.sealed = true;
  s.threshold = 3;
  s.shares = 5;
  s.progress = 1;
  fixed_node_status node(s);
  auth::root_token_authenticator authn{secret(root)};
  service svc(node, authn);
  raw_request r;
  r.method = "GET";
  r.target = "/v1/sys/health";
  const auto health = svc.handle(r);
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(json::parse(health.body)["sealed"], true);
  r.target = "/v1/sys/seal-status";
  const auto seal = svc.handle(r);
  EXPECT_EQ(seal.status, 200);
  EXPECT_EQ(json::parse(seal.body)["progress"], 1);
  EXPECT_FALSE(json::parse(seal.body).contains("cluster_id"));
  r.target = "/v1/anything/else";
  r.headers = {{"x-vault-token", root}};
  const auto other = svc.handle(r);
  EXPECT_EQ(other.status, 503);
  EXPECT_EQ(json::parse(other.body), json::parse(R"({"errors":["Vault is sealed"]})"));
}

TEST(wire_uninitialised, health_is_501) {
  seal_snapshot s;  // not initialised
  fixed_node_status node(s);
  auth::root_token_authenticator authn{secret(root)};
  service svc(node, authn);
  raw_request r;
  r.method = "GET";
  r.target = "/v1/sys/health";
  EXPECT_EQ(svc.handle(r).status, 501);
  r.target = "/v1/sys/health?uninitcode=200";
  EXPECT_EQ(svc.handle(r).status, 200);
  r.target = "/v1/sys/init";
  EXPECT_EQ(json::parse(svc.handle(r).body), json::parse(R"({"initialized":false})"));
}

// Counts token checks: the staged pipeline must check each request's token once.
class counting_authenticator final : public auth::authenticator {
 public:
  std::optional<auth::identity> authenticate(const secret& token) override {
    ++checks;
    return inner_.authenticate(token);
  }
  int checks = 0;

 private:
  auth::root_token_authenticator inner_{secret(root)};
};

class staged : public ::testing::Test {
 protected:
  staged() : node_(unsealed()), svc_(node_, authn_) {
    svc_.routes().add_mount(test_mount());
    auto creds = std::make_shared<mount_table_entry>();
    creds->path = "cred/";
    for (const char* p : {"leases/lookup/*prefix", "lookup-accessor/:accessor"}) {
      route r;
      r.pattern = p;
      creds->routes.push_back(r);
    }
    svc_.routes().add_mount(creds);
  }
  static raw_request head(const std::string& method, const std::string& target, bool token) {
    raw_request r;
    r.method = method;
    r.target = target;
    if (token) r.headers.emplace_back("x-vault-token", root);
    return r;
  }
  fixed_node_status node_;
  counting_authenticator authn_;
  service svc_;
};

TEST_F(staged, inspect_decides_from_the_header_alone) {
  struct inspect_case {
    const char* name;
    std::string method, target;
    bool token;
    int refuse;  // 0: not refused
    bool open, needs_token;
  };
  const std::vector<inspect_case> cases = {
      {"protected without token", "POST", "/v1/test/echo/x", false, 403, false, false},
      {"protected with a token", "POST", "/v1/test/echo/x", true, 0, false, true},
      {"no route without token", "POST", "/v1/nothing/here", false, 403, false, false},
      {"open route", "PUT", "/v1/sys/health", false, 0, true, false},
      {"unknown verb", "BREW", "/v1/test/echo/x", true, 405, false, false},
      {"PATCH without its type", "PATCH", "/v1/test/echo/x", true, 415, false, false},
      {"outside /v1", "POST", "/v2/x", false, 404, false, false},
      {"bad escape", "POST", "/v1/test/%zz", false, 400, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const head_decision d = svc_.inspect(head(c.method, c.target, c.token));
    EXPECT_EQ(d.refuse ? d.refuse->status : 0, c.refuse);
    EXPECT_EQ(d.open, c.open);
    EXPECT_EQ(d.needs_token, c.needs_token);
  }
  EXPECT_EQ(authn_.checks, 0);  // inspect never checks a token (it runs on the I/O thread)
  const auto d = svc_.inspect(head("POST", "/v1/test/echo/x", false));
  EXPECT_EQ(json::parse(d.refuse->body), json::parse(R"({"errors":["permission denied"]})"));
}

TEST_F(staged, sealed_is_refused_before_the_body) {
  seal_snapshot s = unsealed();
  s.sealed = true;
  fixed_node_status sealed_node(s);
  service sealed_svc(sealed_node, authn_);
  const auto d = sealed_svc.inspect(head("POST", "/v1/test/echo/x", true));
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 503);
}

TEST_F(staged, the_token_is_checked_once_and_its_caller_carried) {
  raw_request r = head("POST", "/v1/test/echo/x", true);
  ASSERT_FALSE(svc_.authenticate(r));
  ASSERT_TRUE(r.caller);
  EXPECT_TRUE(r.caller->is_root());
  r.body = R"({"count": 3})";
  const raw_response res = svc_.handle(r);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["data"]["count"], 3);
  EXPECT_EQ(authn_.checks, 1);
  // handle() alone checks it itself, once.
  raw_request alone = head("POST", "/v1/test/echo/x", true);
  EXPECT_EQ(svc_.handle(alone).status, 200);
  EXPECT_EQ(authn_.checks, 2);
}

TEST_F(staged, a_wrong_token_is_refused_before_the_body) {
  raw_request r = head("POST", "/v1/test/echo/x", false);
  r.headers.emplace_back("x-vault-token", "wrong");
  const auto denied = svc_.authenticate(r);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_FALSE(r.caller);
}

TEST_F(staged, a_body_without_a_token_is_never_parsed) {
  // Vault answers 403 here, and so do we: the token comes before the body (it was "400 invalid JSON").
  raw_request r = head("POST", "/v1/test/echo/x", false);
  r.body = "{not json";
  EXPECT_EQ(svc_.handle(r).status, 403);
  raw_request open = head("PUT", "/v1/sys/health", false);
  open.body = "{not json";
  EXPECT_EQ(svc_.handle(open).status, 400);  // an open route parses its body
}

TEST_F(staged, loggable_path_hmacs_credentials_with_a_process_key) {
  const std::string a = svc_.loggable_path("/v1/cred/leases/lookup/database/creds/ro/abc?list=true");
  EXPECT_TRUE(std::regex_match(a, std::regex("^/v1/cred/leases/lookup/hmac-sha256:[0-9a-f]{64}$"))) << a;
  EXPECT_EQ(a, svc_.loggable_path("/v1/cred/leases/lookup/database/creds/ro/abc"));  // stable within a process
  const std::string b = svc_.loggable_path("/v1/cred/lookup-accessor/abcdef");
  EXPECT_TRUE(std::regex_match(b, std::regex("^/v1/cred/lookup-accessor/hmac-sha256:[0-9a-f]{64}$"))) << b;
  EXPECT_EQ(svc_.loggable_path("/v1/sys/health?standbyok=true"), "/v1/sys/health");
  EXPECT_EQ(svc_.loggable_path("/v1/test/echo/x"), "/v1/test/echo/x");
  // (a word with letters beyond 'f': an HMAC's hex digits could spell "abc" by chance)
  const std::string c = svc_.loggable_path("/v1/%zz/topsecret");
  EXPECT_EQ(c.find("topsecret"), std::string::npos) << c;
  fixed_node_status other_node(unsealed());
  service other(other_node, authn_);
  EXPECT_NE(other.loggable_path("/v1/nowhere/abcdef"), svc_.loggable_path("/v1/nowhere/abcdef"));  // keyed per process
}

}  // namespace
