#pragma once
// cidr: IPv4/IPv6 CIDR blocks and address membership, on Boost.Asio's ip::network_v4/v6 (the
// parsing and the prefix arithmetic are Asio's; this file only adds Vault's rules around them).
//
// Spec (Vault's sdk/helper/cidrutil and parseutil.ParseAddrs):
//   - a block is "a.b.c.d/n" (0 <= n <= 32) or an IPv6 "x::y/n" (0 <= n <= 128); host bits may be
//     set ("10.1.2.3/8" is 10.0.0.0/8, as Go's net.ParseCIDR);
//   - where bare addresses are allowed (token_bound_cidrs), "10.1.2.3" is "10.1.2.3/32" and an
//     IPv6 address is a /128;
//   - an IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address (Go's net.IP does the same);
//   - a list's entries are trimmed of blanks; an empty entry is skipped.
// Example: parse_cidr("10.0.0.0/8")->contains("10.20.30.40") is true; contains("11.0.0.1") is false.
// Thread: values; no shared state.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "broker/core/result.hpp"

namespace credbroker {

class cidr_block {
 public:
  // nullopt for anything that is not a block (or, with allow_bare_address, an address).
  static std::optional<cidr_block> parse(std::string_view text, bool allow_bare_address = false);

  bool contains(const boost::asio::ip::address& a) const;
  // Every address of `inner` is in this block.
  bool covers(const cidr_block& inner) const;
  std::string to_string() const;

 private:
  bool v4_ = true;
  boost::asio::ip::network_v4 net4_;
  boost::asio::ip::network_v6 net6_;
};

// An address as a client sends it ("10.0.0.1", "::1", "[::1]"); mapped IPv6 becomes IPv4.
std::optional<boost::asio::ip::address> parse_ip_address(std::string_view text);

// Parses every entry; errc::invalid_request "invalid CIDR address: <entry>" for the first bad one.
result<std::vector<cidr_block>> parse_cidr_list(const std::vector<std::string>& entries, bool allow_bare_address = false);

// True when `address` (as parse_ip_address reads it) is in one of the blocks. An empty list binds
// nothing: false (callers check emptiness first). An unreadable address is in no block.
bool address_in_blocks(std::string_view address, const std::vector<cidr_block>& blocks);
// Same, from the stored text form (entries already validated; a bad one matches nothing).
bool address_in_cidrs(std::string_view address, const std::vector<std::string>& cidrs);

// Vault's verifyCIDRRoleSecretIDSubset: every block of `inner` lies inside some block of `outer`;
// an empty `outer` allows anything.
bool cidrs_subset(const std::vector<std::string>& inner, const std::vector<std::string>& outer);

}  // namespace credbroker
