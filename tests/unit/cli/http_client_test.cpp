#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sys/stat.h>

#include "cli/http_client.hpp"
#include "cli/token_helper.hpp"

using namespace credbroker::cli;
using credbroker::secret;

namespace {

TEST(http_client, describes_requests_as_the_vault_client_sends_them) {
  http_client c("http://127.0.0.1:8200/", secret("t"));
  EXPECT_EQ(c.describe("LIST", "database/roles"), "GET http://127.0.0.1:8200/v1/database/roles?list=true");
  EXPECT_EQ(c.describe("PUT", "sys/leases/renew"), "PUT http://127.0.0.1:8200/v1/sys/leases/renew");
}

TEST(http_client, api_error_text_is_the_vault_clients) {
  http_reply r{403, nlohmann::json::parse(R"({"errors": ["permission denied", "second"]})"), ""};
  EXPECT_EQ(api_error_text("GET http://a/v1/x", r),
            "Error making API request.\n\nURL: GET http://a/v1/x\nCode: 403. Errors:\n\n* permission denied\n* second");
  http_reply raw{502, nullptr, "bad gateway"};
  EXPECT_EQ(api_error_text("GET http://a/v1/x", raw), "Error making API request.\n\nURL: GET http://a/v1/x\nCode: 502. Raw Message:\n\nbad gateway");
}

TEST(http_client, unreachable_server_is_an_error_naming_the_url) {
  http_client c("http://127.0.0.1:1", secret());
  auto r = c.call("GET", "sys/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().message.rfind("Get \"http://127.0.0.1:1/v1/sys/health\": ", 0), 0u) << r.err().message;
  auto bad = http_client("ftp://x", secret()).call("GET", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().message, "address \"ftp://x\" must start with http:// or https://");
}

// The token helper under a private HOME: 0600 file, trimmed read, erase, and the client's fallback.
TEST(token_helper, stores_mode_0600_and_is_the_last_token_source) {
  char dir[] = "/tmp/credbroker-home-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const char* old_home = std::getenv("HOME");
  const std::string saved_home = old_home ? old_home : "";
  ::setenv("HOME", dir, 1);
  ::unsetenv("CREDBROKER_TOKEN");
  ::unsetenv("VAULT_TOKEN");
  {
    std::ofstream(std::string(dir) + "/.vault-token") << "old";
    ::chmod((std::string(dir) + "/.vault-token").c_str(), 0644);
  }
  ASSERT_TRUE(store_token(secret("hvs.new")).ok());
  struct stat st {};
  ASSERT_EQ(::stat((std::string(dir) + "/.vault-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  { std::ofstream(std::string(dir) + "/.vault-token") << "  hvs.new\n"; }
  auto t = read_stored_token();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->reveal(), "hvs.new");
  EXPECT_TRUE(http_client::from_environment("").has_token());
  ASSERT_TRUE(erase_stored_token().ok());
  EXPECT_FALSE(read_stored_token().has_value());
  EXPECT_FALSE(http_client::from_environment("").has_token());
  EXPECT_TRUE(erase_stored_token().ok());  // nothing to remove is fine
  ::rmdir(dir);
  if (old_home) ::setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
