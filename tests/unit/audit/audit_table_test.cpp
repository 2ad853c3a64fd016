// audit_table: enable / disable / list / hash with the persisted table and salts; Vault's errors for
// bad paths, types and options; the test message; and load() at unseal, which keeps the
// fail-closed rule even when a device can no longer work.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/audit/audit_table.hpp"
#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"

using namespace credbroker;
using namespace credbroker::audit;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<json> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

log_input event(const std::string& token) {
  log_input in;
  in.request.id = "id";
  in.request.operation = "read";
  in.request.path = "sys/mounts";
  in.request.client_token = secret(token);
  return in;
}

class audit_table_test : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("credbroker-audit-table-" + random_alnum(10));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  device_entry file_device(const std::string& path, const std::string& file, std::map<std::string, std::string> extra = {}) {
    device_entry e;
    e.path = path;
    e.type = "file";
    e.options = std::move(extra);
    e.options["file_path"] = (dir_ / file).string();
    return e;
  }

  fs::path dir_;
  storage::inmem_backend store_;
  fake_clock clock_;
  audit_broker broker_{clock_};
  audit_table table_{store_, broker_};
};

TEST_F(audit_table_test, enable_persists_the_row_and_a_salt_writes_the_test_message_and_joins_the_broker) {
  device_entry e = file_device("file", "audit.log");
  e.description = "main log";
  e.local = true;
  ASSERT_TRUE(table_.enable(e));
  const auto rows = table_.list();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].path, "file/");
  EXPECT_EQ(rows[0].description, "main log");
  EXPECT_TRUE(rows[0].local);
  EXPECT_EQ(rows[0].options.at("file_path"), (dir_ / "audit.log").string());
  EXPECT_TRUE(broker_.enabled());
  // Storage: the table and the salt.
  auto raw = store_.get(audit_table::table_key);
  ASSERT_TRUE(raw && raw->has_value());
  auto parsed = parse_table(**raw);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].uuid, rows[0].uuid);
  auto salt_value = store_.get(audit_table::salt_key(rows[0].uuid));
  ASSERT_TRUE(salt_value && salt_value->has_value());
  // The test message, then hashes with the stored salt.
  const auto lines = lines_of(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["request"]["path"], "sys/audit/test");
  EXPECT_EQ(lines[0]["type"], "request");
  auto hashed = table_.hash("file", "hvs.TOKEN");
  ASSERT_TRUE(hashed);
  EXPECT_EQ(*hashed, salt(secret(**salt_value)).hmac("hvs.TOKEN"));
  ASSERT_TRUE(broker_.log_request(event("hvs.TOKEN")));
  EXPECT_EQ(lines_of(dir_ / "audit.log").at(1)["request"]["client_token"], *hashed);
}

TEST_F(audit_table_test, vaults_errors_for_paths_types_and_options) {
  ASSERT_TRUE(table_.enable(file_device("file/", "a.log")));
  struct row {
    const char* name;
    device_entry entry;
    const char* message;
  };
  device_entry unknown_type = file_device("x", "x.log");
  unknown_type.type = "carrier-pigeon";
  device_entry syslog = file_device("s", "s.log");
  syslog.type = "syslog";
  device_entry no_path = file_device("np", "np.log");
  no_path.options.erase("file_path");
  device_entry socket_no_address;
  socket_no_address.path = "sock";
  socket_no_address.type = "socket";
  const std::vector<row> rows = {
      {"same path", file_device("file", "b.log"), "path already in use"},
      {"below an enabled path", file_device("file/nested", "b.log"), "path already in use"},
      {"empty path", file_device("", "b.log"), "audit device path must be specified"},
      {"dot-dot", file_device("a/../b", "b.log"), "invalid audit device path"},
      {"unknown type", unknown_type, "unknown backend type: \"carrier-pigeon\""},
      {"syslog", syslog, "not supported by credbroker"},
      {"no file_path", no_path, "file_path is required"},
      {"unknown option", file_device("u", "u.log", {{"fallback", "true"}}), "unknown option \"fallback\""},
      {"bad bool", file_device("b", "b.log", {{"log_raw", "yes"}}), "option log_raw=\"yes\": expected true or false"},
      {"bad format", file_device("f", "f.log", {{"format", "xml"}}), "unknown format type \"xml\""},
      {"executable mode", file_device("m", "m.log", {{"mode", "0755"}}), "cannot be executable"},
      {"not octal", file_device("m2", "m.log", {{"mode", "rw"}}), "expected octal permissions"},
      {"prefix without allow_audit_log_prefixing", file_device("p", "p.log", {{"prefix", "x"}}),
       "audit log prefixing is not allowed"},
      {"socket without address", socket_no_address, "address is required"},
      {"bad write_timeout", [] {
         device_entry e;
         e.path = "t";
         e.type = "socket";
         e.options = {{"address", "127.0.0.1:1"}, {"write_timeout", "soon"}};
         return e;
       }(), "option write_timeout=\"soon\""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const status s = table_.enable(r.entry);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().code, make_error_code(errc::invalid_request));
    EXPECT_NE(s.err().message.find(r.message), std::string::npos) << s.err().message;
  }
  EXPECT_EQ(table_.list().size(), 1u);
}

TEST_F(audit_table_test, a_device_that_fails_its_test_message_is_not_enabled) {
  device_entry full;
  full.path = "full";
  full.type = "file";
  full.options = {{"file_path", "/dev/full"}};
  const status s = table_.enable(full);
  ASSERT_FALSE(s);
  EXPECT_NE(s.err().message.find("audit device failed test message: "), std::string::npos) << s.err().message;
  EXPECT_NE(s.err().message.find("No space left on device"), std::string::npos) << s.err().message;
  device_entry nobody;
  nobody.path = "socket";
  nobody.type = "socket";
  nobody.options = {{"address", "127.0.0.1:1"}, {"write_timeout", "1s"}};
  const status t = table_.enable(nobody);
  ASSERT_FALSE(t);
  EXPECT_NE(t.err().message.find("Connection refused"), std::string::npos) << t.err().message;
  EXPECT_TRUE(table_.list().empty());
  EXPECT_FALSE(broker_.enabled());
  auto raw = store_.get(audit_table::table_key);
  ASSERT_TRUE(raw);
  EXPECT_FALSE(raw->has_value());
}

TEST_F(audit_table_test, prefix_on_a_file_device_needs_the_servers_permission) {
  audit_table permissive(store_, broker_, device_policy{true});
  ASSERT_TRUE(permissive.enable(file_device("p", "p.log", {{"prefix", "@cee: "}})));
  const auto lines = [&] {
    std::ifstream in(dir_ / "p.log");
    std::string l;
    std::getline(in, l);
    return l;
  }();
  EXPECT_EQ(lines.rfind("@cee: {", 0), 0u) << lines;
}

TEST_F(audit_table_test, disable_removes_the_row_and_the_salt_and_is_idempotent) {
  ASSERT_TRUE(table_.enable(file_device("a", "a.log")));
  ASSERT_TRUE(table_.enable(file_device("b", "b.log")));
  const std::string uuid_a = table_.list()[0].uuid;
  ASSERT_TRUE(table_.disable("a/"));
  ASSERT_EQ(table_.list().size(), 1u);
  EXPECT_EQ(table_.list()[0].path, "b/");
  auto salt_a = store_.get(audit_table::salt_key(uuid_a));
  ASSERT_TRUE(salt_a);
  EXPECT_FALSE(salt_a->has_value());
  EXPECT_FALSE(table_.hash("a", "x"));
  EXPECT_EQ(table_.hash("a", "x").err().message, "unknown audit backend \"a/\"");
  EXPECT_TRUE(table_.disable("a"));
  EXPECT_TRUE(table_.disable("never-enabled"));
  ASSERT_TRUE(table_.disable("b"));
  EXPECT_FALSE(broker_.enabled());
}

TEST_F(audit_table_test, load_after_a_restart_reopens_every_device_with_its_salt) {
  ASSERT_TRUE(table_.enable(file_device("a", "a.log")));
  ASSERT_TRUE(table_.enable(file_device("b", "b.log", {{"hmac_accessor", "false"}})));
  const auto before = *table_.hash("a", "hvs.TOKEN");
  table_.unload();
  EXPECT_FALSE(broker_.enabled());
  EXPECT_TRUE(table_.list().empty());
  audit_broker broker2(clock_);
  audit_table table2(store_, broker2);
  ASSERT_TRUE(table2.load());
  ASSERT_EQ(table2.list().size(), 2u);
  EXPECT_EQ(table2.list()[1].options.at("hmac_accessor"), "false");
  EXPECT_EQ(*table2.hash("a", "hvs.TOKEN"), before);
  EXPECT_TRUE(broker2.enabled());
  ASSERT_TRUE(broker2.log_request(event("hvs.TOKEN")));
  EXPECT_EQ(lines_of(dir_ / "a.log").back()["request"]["client_token"], before);
}

TEST_F(audit_table_test, load_keeps_the_fail_closed_rule_when_a_device_cannot_work) {
  ASSERT_TRUE(table_.enable(file_device("a", "sub/a.log")));
  // The log directory is replaced by a file: the device cannot open its file at the next unseal.
  fs::remove_all(dir_ / "sub");
  std::ofstream(dir_ / "sub") << "not a directory";
  table_.unload();
  ASSERT_TRUE(table_.load());
  ASSERT_EQ(table_.list().size(), 1u);
  EXPECT_TRUE(broker_.enabled());
  EXPECT_FALSE(broker_.log_request(event("t")));
  // Once the path works again, so does the device.
  fs::remove(dir_ / "sub");
  EXPECT_TRUE(broker_.log_request(event("t")));
  // A lost salt: the device stays listed and records nothing.
  ASSERT_TRUE(store_.remove(audit_table::salt_key(table_.list()[0].uuid)));
  table_.unload();
  ASSERT_TRUE(table_.load());
  EXPECT_TRUE(broker_.enabled());
  EXPECT_FALSE(broker_.log_request(event("t")));
  // An unreadable table: every request is refused.
  ASSERT_TRUE(store_.put(audit_table::table_key, "{not json"));
  table_.unload();
  EXPECT_FALSE(table_.load());
  EXPECT_TRUE(broker_.enabled());
  EXPECT_FALSE(broker_.log_request(event("t")));
}

TEST_F(audit_table_test, reopen_follows_a_rotated_file) {
  ASSERT_TRUE(table_.enable(file_device("a", "a.log")));
  fs::rename(dir_ / "a.log", dir_ / "a.log.1");
  table_.reopen();
  ASSERT_TRUE(broker_.log_request(event("t")));
  EXPECT_EQ(lines_of(dir_ / "a.log.1").size(), 1u);  // the test message
  EXPECT_EQ(lines_of(dir_ / "a.log").size(), 1u);
}

TEST(audit_table_json, round_trip) {
  device_entry e;
  e.path = "file/";
  e.type = "file";
  e.description = "d";
  e.options = {{"file_path", "/var/log/a"}};
  e.local = true;
  e.uuid = "u";
  auto rows = parse_table(table_json({e}));
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].path, "file/");
  EXPECT_EQ((*rows)[0].options, e.options);
  EXPECT_TRUE((*rows)[0].local);
  EXPECT_EQ(json::parse(table_json({}))["type"], "audit");
  EXPECT_FALSE(parse_table("[]"));
  EXPECT_FALSE(parse_table(R"({"entries":[{"path":1}]})"));
}

}  // namespace
