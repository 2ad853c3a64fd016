// format: Vault's request and response entries, field by field, and which fields each option hides —
// a table of (options, JSON pointer, expectation) over one request and its response: a token's
// creds read, a connection config write with a root password, a token issued, a wrapped response.
#include <gtest/gtest.h>

#include "broker/audit/format.hpp"

using namespace credbroker;
using namespace credbroker::audit;
using nlohmann::json;

namespace {

const salt test_salt(secret("8a7f6c1e-0000-4000-8000-000000000001"));
const time_point at = time_point{std::chrono::seconds{1'767'323'045}} + std::chrono::microseconds(120);

std::string h(const std::string& v) { return test_salt.hmac(v); }

// The entry of a JSON line, parsed (the prefix cut off).
json request_entry(const log_input& in, const salt& s, const format_options& o, time_point now) {
  return json::parse(request_line(in, s, o, now).substr(o.prefix.size()));
}
json response_entry(const log_input& in, const salt& s, const format_options& o, time_point now) {
  return json::parse(response_line(in, s, o, now).substr(o.prefix.size()));
}

auth_record caller() {
  auth_record a;
  a.client_token = secret("hvs.CALLERTOKEN");
  a.accessor = "caller-accessor";
  a.display_name = "token-app";
  a.policies = {"app", "default"};
  a.token_policies = {"app", "default"};
  a.metadata = {{"team", "payments"}};
  a.token_type = "service";
  a.token_ttl = 3600;
  a.token_issue_time = 1'767'320'000;
  a.policy_allowed = true;
  return a;
}

log_input sample() {
  log_input in;
  in.auth = caller();
  auto& r = in.request;
  r.id = "5f1c7c1e-1111-4222-8333-944455556666";
  r.operation = "update";
  r.mount_type = "database";
  r.mount_point = "database/";
  r.path = "database/config/pg";
  r.data = {{"connection_url", "postgresql://{{username}}:{{password}}@db:5432/app"},
            {"username", "root"},
            {"password", "ROOT-PASSWORD"},
            {"allowed_roles", json::array({"app"})},
            {"max_open_connections", 4}};
  r.remote_address = "10.1.2.3";
  r.remote_port = 53412;
  r.client_token = secret("hvs.CALLERTOKEN");
  r.client_token_accessor = "caller-accessor";
  response_record resp;
  resp.data = {{"username", "v-app-xyz"}, {"password", "ISSUED-PASSWORD"}, {"expires", "2026-01-02T04:04:05Z"}};
  resp.lease_id = "database/creds/app/abc";
  auth_record issued;
  issued.client_token = secret("hvs.ISSUEDTOKEN");
  issued.accessor = "issued-accessor";
  issued.policies = {"default"};
  issued.token_type = "service";
  issued.token_ttl = 600;
  resp.auth = issued;
  wrap_record w;
  w.token = secret("hvs.WRAPPINGTOKEN");
  w.accessor = "wrapping-accessor";
  w.ttl = 300;
  w.creation_time = at;
  w.creation_path = "auth/approle/role/app/secret-id";
  w.wrapped_accessor = "wrapped-accessor";
  resp.wrap_info = w;
  resp.warnings = {"a warning"};
  in.response = resp;
  return in;
}

enum class expect { clear, hashed, absent };

struct row {
  const char* pointer;
  expect what;
  json original;  // the value in clear (for clear and hashed)
};

void check(const json& entry, const std::vector<row>& rows) {
  for (const auto& r : rows) {
    SCOPED_TRACE(r.pointer);
    const json::json_pointer p(r.pointer);
    if (r.what == expect::absent) {
      EXPECT_FALSE(entry.contains(p)) << entry.dump();
      continue;
    }
    ASSERT_TRUE(entry.contains(p)) << entry.dump();
    const json want = r.what == expect::clear
                          ? r.original
                          : json(h(r.original.is_string() ? r.original.get<std::string>() : r.original.dump()));
    EXPECT_EQ(entry.at(p), want);
  }
}

// What is the same in every option set: tokens and the wrapping token always hashed; structure.
const std::vector<row> always = {
    {"/type", expect::clear, "response"},
    {"/time", expect::clear, "2026-01-02T03:04:05.00012Z"},
    {"/auth/client_token", expect::hashed, "hvs.CALLERTOKEN"},
    {"/auth/display_name", expect::clear, "token-app"},
    {"/auth/policies", expect::clear, json::array({"app", "default"})},
    {"/auth/token_policies", expect::clear, json::array({"app", "default"})},
    {"/auth/metadata", expect::clear, json{{"team", "payments"}}},
    {"/auth/token_type", expect::clear, "service"},
    {"/auth/token_ttl", expect::clear, 3600},
    {"/auth/token_issue_time", expect::clear, "2026-01-02T02:13:20Z"},
    {"/auth/policy_results/allowed", expect::clear, true},
    {"/request/id", expect::clear, "5f1c7c1e-1111-4222-8333-944455556666"},
    {"/request/operation", expect::clear, "update"},
    {"/request/mount_type", expect::clear, "database"},
    {"/request/mount_point", expect::clear, "database/"},
    {"/request/path", expect::clear, "database/config/pg"},
    {"/request/namespace/id", expect::clear, "root"},
    {"/request/remote_address", expect::clear, "10.1.2.3"},
    {"/request/remote_port", expect::clear, 53412},
    {"/request/client_token", expect::hashed, "hvs.CALLERTOKEN"},
    {"/request/data/password", expect::hashed, "ROOT-PASSWORD"},
    {"/request/data/max_open_connections", expect::clear, 4},
    {"/response/mount_type", expect::clear, "database"},
    {"/response/secret/lease_id", expect::clear, "database/creds/app/abc"},
    {"/response/data/password", expect::hashed, "ISSUED-PASSWORD"},
    {"/response/data/expires", expect::clear, "2026-01-02T04:04:05Z"},
    {"/response/auth/client_token", expect::hashed, "hvs.ISSUEDTOKEN"},
    {"/response/auth/token_ttl", expect::clear, 600},
    {"/response/wrap_info/token", expect::hashed, "hvs.WRAPPINGTOKEN"},
    {"/response/wrap_info/ttl", expect::clear, 300},
    {"/response/wrap_info/creation_time", expect::clear, "2026-01-02T03:04:05.00012Z"},
    {"/response/wrap_info/creation_path", expect::clear, "auth/approle/role/app/secret-id"},
    {"/response/warnings", expect::clear, json::array({"a warning"})},
    {"/error", expect::absent, nullptr},
};

TEST(audit_format, every_option_set_hides_what_it_must) {
  struct option_case {
    const char* name;
    format_options options;
    std::vector<row> rows;
  };
  format_options no_accessor_hmac;
  no_accessor_hmac.hmac_accessor = false;
  format_options raw;
  raw.log_raw = true;
  const std::vector<option_case> cases = {
      {"defaults: accessors and every data string hashed",
       {},
       {{"/auth/accessor", expect::hashed, "caller-accessor"},
        {"/request/client_token_accessor", expect::hashed, "caller-accessor"},
        {"/response/auth/accessor", expect::hashed, "issued-accessor"},
        {"/response/wrap_info/accessor", expect::hashed, "wrapping-accessor"},
        {"/response/wrap_info/wrapped_accessor", expect::hashed, "wrapped-accessor"},
        {"/request/data/username", expect::hashed, "root"},
        {"/request/data/connection_url", expect::hashed, "postgresql://{{username}}:{{password}}@db:5432/app"},
        {"/request/data/allowed_roles/0", expect::hashed, "app"},
        {"/response/data/username", expect::hashed, "v-app-xyz"}}},
      {"hmac_accessor=false: accessors in clear, data strings still hashed",
       no_accessor_hmac,
       {{"/auth/accessor", expect::clear, "caller-accessor"},
        {"/request/client_token_accessor", expect::clear, "caller-accessor"},
        {"/response/auth/accessor", expect::clear, "issued-accessor"},
        {"/response/wrap_info/accessor", expect::clear, "wrapping-accessor"},
        {"/response/wrap_info/wrapped_accessor", expect::clear, "wrapped-accessor"},
        {"/request/data/username", expect::hashed, "root"},
        {"/response/data/username", expect::hashed, "v-app-xyz"}}},
      {"log_raw: data in clear except secrets; tokens still hashed",
       raw,
       {{"/auth/accessor", expect::hashed, "caller-accessor"},
        {"/request/data/username", expect::clear, "root"},
        {"/request/data/allowed_roles/0", expect::clear, "app"},
        {"/request/data/connection_url", expect::hashed, "postgresql://{{username}}:{{password}}@db:5432/app"},
        {"/response/data/username", expect::clear, "v-app-xyz"}}},
  };
  const log_input in = sample();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const json entry = response_entry(in, test_salt, c.options, at);
    check(entry, always);
    check(entry, c.rows);
    // The request entry has the same auth and request, and no response.
    json req = request_entry(in, test_salt, c.options, at);
    EXPECT_EQ(req["type"], "request");
    EXPECT_FALSE(req.contains("response"));
    EXPECT_EQ(req["auth"], entry["auth"]);
    EXPECT_EQ(req["request"], entry["request"]);
    // No secret in clear anywhere in the line.
    const std::string line = response_line(in, test_salt, c.options, at);
    for (const char* s : {"ROOT-PASSWORD", "ISSUED-PASSWORD", "hvs.CALLERTOKEN", "hvs.ISSUEDTOKEN", "hvs.WRAPPINGTOKEN"}) {
      EXPECT_EQ(line.find(s), std::string::npos) << s;
    }
  }
}

TEST(audit_format, an_unauthenticated_refused_request_shows_vaults_default_token_type_and_the_error) {
  log_input in;
  in.auth.client_token = secret("hvs.BADTOKEN");
  in.auth.policy_allowed = false;
  in.request.id = "r";
  in.request.operation = "read";
  in.request.path = "database/creds/app";
  in.request.client_token = secret("hvs.BADTOKEN");
  in.error = "permission denied";
  const json e = request_entry(in, test_salt, {}, at);
  EXPECT_EQ(e["auth"], (json{{"client_token", h("hvs.BADTOKEN")}, {"token_type", "default"}, {"policy_results", {{"allowed", false}}}}));
  EXPECT_EQ(e["error"], "permission denied");
  EXPECT_FALSE(e["request"].contains("data"));
  EXPECT_FALSE(e["request"].contains("client_token_accessor"));
  const json r = response_entry(in, test_salt, {}, at);
  EXPECT_EQ(r["response"], json::object());
  EXPECT_EQ(r["error"], "permission denied");
}

TEST(audit_format, elide_list_responses_replaces_keys_by_their_count_on_list_operations_only) {
  log_input in;
  in.request.operation = "list";
  in.request.path = "database/roles/";
  response_record resp;
  resp.data = {{"keys", {"app", "ro", "admin"}}, {"key_info", {{"app", {{"x", "y"}}}}}};
  in.response = resp;
  format_options elide;
  elide.elide_list_responses = true;
  EXPECT_EQ(response_entry(in, test_salt, elide, at)["response"]["data"], (json{{"keys", 3}, {"key_info", 1}}));
  format_options raw_elide = elide;
  raw_elide.log_raw = true;
  EXPECT_EQ(response_entry(in, test_salt, raw_elide, at)["response"]["data"], (json{{"keys", 3}, {"key_info", 1}}));
  EXPECT_EQ(response_entry(in, test_salt, {}, at)["response"]["data"]["keys"], json::array({h("app"), h("ro"), h("admin")}));
  in.request.operation = "read";
  EXPECT_TRUE(response_entry(in, test_salt, elide, at)["response"]["data"]["keys"].is_array());
}

TEST(audit_format, a_line_is_prefix_entry_newline) {
  log_input in;
  in.request.id = "r";
  format_options o;
  o.prefix = "@cee: ";
  const std::string line = request_line(in, test_salt, o, at);
  EXPECT_EQ(line, "@cee: {\"time\":\"2026-01-02T03:04:05.00012Z\",\"type\":\"request\",\"auth\":{\"token_type\":\"default\"},"
                  "\"request\":{\"id\":\"r\",\"namespace\":{\"id\":\"root\"}}}\n");
  EXPECT_EQ(request_line(in, test_salt, {}, at), line.substr(o.prefix.size()));
  o.format = format_kind::jsonx;
  EXPECT_EQ(request_line(in, test_salt, o, at),
            "@cee: <json:object name=\"auth\"><json:string name=\"token_type\">default</json:string></json:object>"
            "<json:object name=\"request\"><json:string name=\"id\">r</json:string><json:object name=\"namespace\">"
            "<json:string name=\"id\">root</json:string></json:object></json:object>"
            "<json:string name=\"time\">2026-01-02T03:04:05.00012Z</json:string><json:string name=\"type\">request</json:string>\n");
}

TEST(audit_format, jsonx_renders_vaults_json_as_xml) {
  const json entry = {{"type", "request"},
                      {"auth", {{"policies", {"root"}}, {"token_ttl", 60}}},
                      {"request", {{"path", "a<b>&\"c\""}, {"renewable", false}, {"data", nullptr}}}};
  EXPECT_EQ(to_jsonx(entry) + "\n",
            "<json:object name=\"auth\"><json:array name=\"policies\"><json:string>root</json:string></json:array>"
            "<json:number name=\"token_ttl\">60</json:number></json:object>"
            "<json:object name=\"request\"><json:null name=\"data\" />"
            "<json:string name=\"path\">a&lt;b&gt;&amp;&#34;c&#34;</json:string>"
            "<json:boolean name=\"renewable\">false</json:boolean></json:object>"
            "<json:string name=\"type\">request</json:string>\n");
  EXPECT_EQ(to_jsonx(json{{"a\nb", "x\ty"}}), "<json:string name=\"a&#xA;b\">x&#x9;y</json:string>");
}

}  // namespace
