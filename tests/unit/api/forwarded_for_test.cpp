// The client address of a request: the TCP peer, or X-Forwarded-For from an authorized proxy
// (Vault's WrapForwardedForHandler).
#include "api/forwarded_for.hpp"

#include <gtest/gtest.h>

namespace credbroker::api {
namespace {

forwarded_for_options options(std::vector<std::string> blocks, unsigned hops, bool reject_unauthorized,
                              bool reject_absent) {
  forwarded_for_options o;
  for (const auto& b : blocks) o.authorized.push_back(*cidr_block::parse(b, true));
  o.hop_skips = hops;
  o.reject_not_authorized = reject_unauthorized;
  o.reject_not_present = reject_absent;
  return o;
}

TEST(forwarded_for, resolves_the_client_as_vault_does) {
  const std::string missing = "missing x-forwarded-for header and configured to reject when not present";
  const std::string unauthorized = "client address not authorized for x-forwarded-for and configured to reject connection";
  struct row {
    const char* name;
    forwarded_for_options opts;
    std::string peer;
    std::vector<std::string> headers;
    std::string remote;  // expected, when not refused
    std::string refusal;
  };
  const row rows[] = {
      {"nothing configured: the header is ignored", options({}, 0, true, true), "127.0.0.1:5000", {"10.9.9.9"},
       "127.0.0.1:5000", ""},
      {"authorized proxy: the last entry", options({"127.0.0.0/8"}, 0, true, true), "127.0.0.1:5000",
       {"192.0.2.7, 10.2.2.2"}, "10.2.2.2:5000", ""},
      {"hop skips count from the end", options({"127.0.0.0/8"}, 1, true, true), "127.0.0.1:5000",
       {"192.0.2.7, 10.2.2.2"}, "192.0.2.7:5000", ""},
      {"several headers are one chain", options({"127.0.0.0/8"}, 1, true, true), "127.0.0.1:5000",
       {"192.0.2.7", "10.2.2.2"}, "192.0.2.7:5000", ""},
      {"too many hops to skip", options({"127.0.0.0/8"}, 2, true, true), "127.0.0.1:5000", {"192.0.2.7, 10.2.2.2"}, "",
       "malformed x-forwarded-for configuration or request, hops to skip (2) would skip before earliest chain link "
       "(chain length 2)"},
      {"unauthorized proxy, rejecting", options({"10.0.0.0/8"}, 0, true, true), "127.0.0.1:5000", {"192.0.2.7"}, "",
       unauthorized},
      {"unauthorized proxy, not rejecting: the header is not trusted", options({"10.0.0.0/8"}, 0, false, true),
       "127.0.0.1:5000", {"192.0.2.7"}, "127.0.0.1:5000", ""},
      {"no header, rejecting", options({"127.0.0.0/8"}, 0, true, true), "127.0.0.1:5000", {}, "", missing},
      {"no header, not rejecting", options({"127.0.0.0/8"}, 0, true, false), "127.0.0.1:5000", {}, "127.0.0.1:5000", ""},
      {"no header from an unauthorized peer is still 'not present'", options({"10.0.0.0/8"}, 0, false, true),
       "127.0.0.1:5000", {}, "", missing},
      {"IPv6 peer", options({"::1/128"}, 0, true, true), "::1:6000", {"2001:db8::9"}, "2001:db8::9:6000", ""},
      {"bracketed IPv6 entry", options({"127.0.0.1"}, 0, true, true), "127.0.0.1:7000", {"[2001:db8::9]"},
       "2001:db8::9:7000", ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const auto got = resolve_client(r.opts, r.peer, r.headers);
    if (r.refusal.empty()) {
      ASSERT_FALSE(got.refusal) << *got.refusal;
      EXPECT_EQ(got.remote, r.remote);
    } else {
      ASSERT_TRUE(got.refusal);
      EXPECT_EQ(*got.refusal, r.refusal);
    }
  }
}

TEST(forwarded_for, host_of_strips_the_port) {
  const std::pair<const char*, const char*> rows[] = {
      {"127.0.0.1:5000", "127.0.0.1"}, {"::1:5000", "::1"}, {"[::1]:5000", "::1"}, {"unknown", "unknown"}};
  for (const auto& [in, out] : rows) {
    SCOPED_TRACE(in);
    EXPECT_EQ(host_of(in), out);
  }
}

}  // namespace
}  // namespace credbroker::api
