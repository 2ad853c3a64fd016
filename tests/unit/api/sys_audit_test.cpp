// sys/audit, sys/audit/:path and sys/audit-hash/:path through the whole API pipeline: Vault's
// request and answer shapes, its errors, and the sudo requirement of sys/audit and sys/audit/*.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/service.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "support/api_call.hpp"
#include "support/seal.hpp"

using namespace credbroker;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class sys_audit_test : public testing::Test {
 protected:
  sys_audit_test() {
    dir_ = fs::temp_directory_path() / ("credbroker-sys-audit-" + random_alnum(10));
    fs::create_directories(dir_);
    root_ = tokens_.create_root()->reveal();
    EXPECT_TRUE(policies_.ensure_default());
    api::services s{node_, tokens_, nullptr, nullptr, &clock_, &policies_, &tokens_};
    s.audit = &broker_;
    s.audit_devices = &table_;
    svc_ = std::make_unique<api::service>(s);
  }
  ~sys_audit_test() override { fs::remove_all(dir_); }

  using answer = test::api_answer;
  answer call(const std::string& method, const std::string& path, const std::string& token, json body = nullptr) {
    return test::call_api(*svc_, method, path, token, body);
  }
  std::string log(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
  storage::inmem_backend store_;
  fake_clock clock_;
  fixed_node_status node_{test::unsealed()};
  auth::token_store tokens_{store_, clock_};
  auth::policy_store policies_{store_};
  audit::audit_broker broker_{clock_};
  audit::audit_table table_{store_, broker_};
  std::unique_ptr<api::service> svc_;
  std::string root_;
};

TEST_F(sys_audit_test, enable_list_hash_disable_as_vault_answers_them) {
  EXPECT_EQ(call("GET", "sys/audit", root_).body["data"], json::object());
  const auto en = call("PUT", "sys/audit/file", root_,
                       {{"type", "file"}, {"description", "main"}, {"options", {{"file_path", log("a.log")}, {"mode", 640}, {"hmac_accessor", false}}}});
  ASSERT_EQ(en.status, 204) << en.body.dump();
  const auto list = call("GET", "sys/audit", root_);
  ASSERT_EQ(list.status, 200);
  const json want = {{"type", "file"},
                     {"description", "main"},
                     {"options", {{"file_path", log("a.log")}, {"mode", "640"}, {"hmac_accessor", "false"}}},
                     {"local", false},
                     {"path", "file/"}};
  EXPECT_EQ(list.body["data"]["file/"], want);
  EXPECT_EQ(list.body["file/"], want);  // also at the top level, as Vault's sys/ answers
  const auto hashed = call("PUT", "sys/audit-hash/file", root_, {{"input", "hvs.SOMETOKEN"}});
  ASSERT_EQ(hashed.status, 200);
  EXPECT_EQ(hashed.body["data"]["hash"], *table_.hash("file", "hvs.SOMETOKEN"));
  EXPECT_EQ(hashed.body["hash"], hashed.body["data"]["hash"]);
  EXPECT_EQ(call("PUT", "sys/audit-hash/file", root_, {{"input", ""}}).body["errors"],
            json::array({"the \"input\" parameter is empty"}));
  EXPECT_EQ(call("PUT", "sys/audit-hash/nope", root_, {{"input", "x"}}).body["errors"],
            json::array({"unknown audit backend \"nope/\""}));
  // The enable answer is the device's first entry after the test message.
  std::ifstream in(log("a.log"));
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(json::parse(first)["request"]["path"], "sys/audit/test");
  EXPECT_EQ(json::parse(second)["type"], "response");
  EXPECT_EQ(json::parse(second)["request"]["path"], "sys/audit/file");
  ASSERT_EQ(call("DELETE", "sys/audit/file", root_).status, 204);
  EXPECT_EQ(call("DELETE", "sys/audit/file", root_).status, 204);
  EXPECT_EQ(call("GET", "sys/audit", root_).body["data"], json::object());
}

TEST_F(sys_audit_test, bad_requests_get_vaults_errors) {
  struct row {
    const char* name;
    std::string method, path;
    json body;
    int status;
    std::string error;
  };
  ASSERT_EQ(call("PUT", "sys/audit/file", root_, {{"type", "file"}, {"options", {{"file_path", log("a.log")}}}}).status, 204);
  const std::vector<row> rows = {
      {"no type", "PUT", "sys/audit/x", {{"options", {{"file_path", log("x")}}}}, 400, "type is required"},
      {"path in use", "PUT", "sys/audit/file", {{"type", "file"}, {"options", {{"file_path", log("b")}}}}, 400,
       "path already in use"},
      {"unknown type", "PUT", "sys/audit/y", {{"type", "kafka"}}, 400, "unknown backend type: \"kafka\""},
      {"options not a map", "PUT", "sys/audit/z", {{"type", "file"}, {"options", "file_path=x"}}, 400,
       "Field validation failed"},
      {"option not a string", "PUT", "sys/audit/z", {{"type", "file"}, {"options", {{"file_path", {1, 2}}}}}, 400,
       "option \"file_path\" is not a string"},
      {"read of a device", "GET", "sys/audit/file", nullptr, 405, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const auto a = call(r.method, r.path, root_, r.body);
    EXPECT_EQ(a.status, r.status) << a.body.dump();
    if (!r.error.empty()) {
      ASSERT_TRUE(a.body.contains("errors")) << a.body.dump();
      EXPECT_NE(a.body["errors"][0].get<std::string>().find(r.error), std::string::npos) << a.body.dump();
    }
  }
}

TEST_F(sys_audit_test, sys_audit_needs_sudo) {
  ASSERT_EQ(call("PUT", "sys/policy/auditor", root_,
                 {{"policy", R"(path "sys/audit*" { capabilities = ["read", "update", "delete"] })"}})
                .status,
            204);
  ASSERT_EQ(call("PUT", "sys/policy/auditor-sudo", root_,
                 {{"policy", R"(path "sys/audit*" { capabilities = ["read", "update", "delete", "sudo"] })"}})
                .status,
            204);
  const std::string plain = call("POST", "auth/token/create", root_, {{"policies", {"auditor"}}}).body["auth"]["client_token"];
  const std::string sudo = call("POST", "auth/token/create", root_, {{"policies", {"auditor-sudo"}}}).body["auth"]["client_token"];
  EXPECT_EQ(call("GET", "sys/audit", plain).status, 403);
  EXPECT_EQ(call("PUT", "sys/audit/file", plain, {{"type", "file"}, {"options", {{"file_path", log("a")}}}}).status, 403);
  EXPECT_EQ(call("GET", "sys/audit", sudo).status, 200);
  EXPECT_EQ(call("PUT", "sys/audit/file", sudo, {{"type", "file"}, {"options", {{"file_path", log("a")}}}}).status, 204);
  // audit-hash is not a root path.
  EXPECT_EQ(call("PUT", "sys/audit-hash/file", plain, {{"input", "x"}}).status, 200);
}

}  // namespace
