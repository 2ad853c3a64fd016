#pragma once
// forwarded_for: the client address of a request, as Vault's listener works it out (http/handler.go
// WrapForwardedForHandler), from the TCP peer and the X-Forwarded-For headers.
//
// Spec, with authorized blocks configured (none: the header is ignored and the peer is the client):
//   1. no X-Forwarded-For header: the peer, or with reject_not_present a 400
//      "missing x-forwarded-for header and configured to reject when not present";
//   2. a peer outside the authorized blocks: the peer (the header is not trusted), or with
//      reject_not_authorized a 400 "client address not authorized for x-forwarded-for and configured
//      to reject connection";
//   3. otherwise every header's comma-separated entries in order; the client is the entry
//      hop_skips from the end (0: the last, the address the proxy itself saw), with the peer's port;
//      too few entries: 400 "malformed x-forwarded-for configuration or request, hops to skip (N)
//      would skip before earliest chain link (chain length M)".
// Example: authorized 10.0.0.0/8, peer 10.1.1.1:4000, "X-Forwarded-For: 192.0.2.7, 10.2.2.2", hop_skips 1
// -> "192.0.2.7:4000".
// Thread: pure functions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/cidr.hpp"

namespace credbroker::api {

struct forwarded_for_options {
  std::vector<cidr_block> authorized;  // empty: X-Forwarded-For is ignored
  unsigned hop_skips = 0;
  bool reject_not_authorized = true;
  bool reject_not_present = true;
};

struct client_address {
  std::string remote;               // "host:port" the request is taken to come from
  std::optional<std::string> refusal;  // a 400 with this message instead
};

// remote: the peer as "host:port" (an IPv6 host without brackets, as endpoint text has it).
client_address resolve_client(const forwarded_for_options& o, const std::string& remote,
                              const std::vector<std::string>& forwarded_for);

// The host part of "host:port" ("::1:8200" -> "::1", "[::1]:8200" -> "::1").
std::string host_of(std::string_view remote);

}  // namespace credbroker::api
