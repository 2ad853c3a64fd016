#include "plugins/redis/parsers.hpp"

#include <gtest/gtest.h>

namespace credbroker::plugins::redis {
namespace {

// Redis's hashed-password rules: '#' and '!' then SHA-256 in 64 lowercase hex digits (Redis refuses
// upper case). The digests are RFC 6234's / sha256sum's.
TEST(redis_parsers, acl_password_is_the_sha256_rule) {
  struct row {
    const char* password;
    const char* digest;
  };
  const std::vector<row> rows = {
      {"pencil", "13809668fb436386706f67dcb052ed584a04ba16a8c02a17d66d34c30fceda21"},
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.password);
    EXPECT_EQ(acl_password(r.password), std::string("#") + r.digest);
    EXPECT_EQ(acl_password_removal(r.password), std::string("!") + r.digest);
  }
}

}  // namespace
}  // namespace credbroker::plugins::redis
