// CIDR blocks: parsing (Vault's cidrutil and parseutil.ParseAddrs rules), membership, subsets.
#include "broker/core/cidr.hpp"

#include <gtest/gtest.h>

namespace credbroker {
namespace {

TEST(cidr, parse_accepts_blocks_and_refuses_the_rest) {
  struct row {
    const char* text;
    bool bare_allowed;
    bool ok;
    const char* canonical;
  };
  const row rows[] = {
      {"10.0.0.0/8", false, true, "10.0.0.0/8"},
      {" 10.1.2.3/8 ", false, true, "10.0.0.0/8"},  // host bits set, as Go's net.ParseCIDR
      {"0.0.0.0/0", false, true, "0.0.0.0/0"},
      {"127.0.0.1/32", false, true, "127.0.0.1/32"},
      {"::1/128", false, true, "::1/128"},
      {"2001:db8::/32", false, true, "2001:db8::/32"},
      {"10.0.0.0/33", false, false, ""},
      {"::/129", false, false, ""},
      {"10.0.0.0/", false, false, ""},
      {"10.0.0.0/-1", false, false, ""},
      {"10.0.0.0/8x", false, false, ""},
      {"10.0.0.300/8", false, false, ""},
      {"example.com/8", false, false, ""},
      {"10.0.0.1", false, false, ""},  // secret_id_bound_cidrs need a prefix
      {"10.0.0.1", true, true, "10.0.0.1/32"},  // token_bound_cidrs take addresses
      {"::1", true, true, "::1/128"},
      {"", true, false, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.text) + (r.bare_allowed ? " (bare allowed)" : ""));
    auto b = cidr_block::parse(r.text, r.bare_allowed);
    ASSERT_EQ(b.has_value(), r.ok);
    if (b) {
      EXPECT_EQ(b->to_string(), r.canonical);
    }
  }
}

TEST(cidr, membership) {
  struct row {
    const char* block;
    const char* address;
    bool inside;
  };
  const row rows[] = {
      {"10.0.0.0/8", "10.20.30.40", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"127.0.0.1/32", "127.0.0.1", true},
      {"127.0.0.1/32", "127.0.0.2", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"127.0.0.0/8", "::ffff:127.0.0.1", true},  // IPv4-mapped IPv6 is the IPv4 address
      {"::1/128", "::1", true},
      {"::1/128", "[::1]", true},
      {"::1/128", "127.0.0.1", false},
      {"127.0.0.0/8", "::1", false},
      {"2001:db8::/32", "2001:db8:1::5", true},
      {"10.0.0.0/8", "", false},
      {"10.0.0.0/8", "not an address", false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.block) + " contains " + r.address);
    auto b = cidr_block::parse(r.block);
    ASSERT_TRUE(b);
    EXPECT_EQ(address_in_blocks(r.address, {*b}), r.inside);
    EXPECT_EQ(address_in_cidrs(r.address, {r.block}), r.inside);
  }
}

TEST(cidr, subsets_as_vault_checks_secret_id_bindings) {
  struct row {
    std::vector<std::string> inner, outer;
    bool subset;
  };
  const row rows[] = {
      {{"10.1.0.0/16"}, {"10.0.0.0/8"}, true},
      {{"10.0.0.0/8"}, {"10.0.0.0/8"}, true},
      {{"10.0.0.0/7"}, {"10.0.0.0/8"}, false},
      {{"11.0.0.0/16"}, {"10.0.0.0/8"}, false},
      {{"10.1.0.0/16", "192.168.1.0/24"}, {"10.0.0.0/8", "192.168.0.0/16"}, true},
      {{"10.1.0.0/16", "172.16.0.1/32"}, {"10.0.0.0/8", "192.168.0.0/16"}, false},
      {{"10.0.0.5"}, {"10.0.0.0/24"}, true},
      {{"::1/128"}, {"127.0.0.0/8"}, false},
      {{"10.0.0.0/8"}, {}, true},  // an unbound role allows any block
      {{}, {"10.0.0.0/8"}, true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(testing::PrintToString(r.inner) + " within " + testing::PrintToString(r.outer));
    EXPECT_EQ(cidrs_subset(r.inner, r.outer), r.subset);
  }
}

TEST(cidr, a_list_names_its_first_bad_entry) {
  auto ok = parse_cidr_list({"10.0.0.0/8", " ", "::1/128"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 2u);
  auto bad = parse_cidr_list({"10.0.0.0/8", "10.0.0.300/8", "nope"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().message, "invalid CIDR address: 10.0.0.300/8");
}

}  // namespace
}  // namespace credbroker
