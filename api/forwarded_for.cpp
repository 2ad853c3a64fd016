#include "api/forwarded_for.hpp"

namespace credbroker::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string host_of(std::string_view remote) {
  const auto colon = remote.rfind(':');
  std::string_view host = colon == std::string_view::npos ? remote : remote.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::string(host);
}

client_address resolve_client(const forwarded_for_options& o, const std::string& remote,
                              const std::vector<std::string>& forwarded_for) {
  client_address out{remote, std::nullopt};
  if (o.authorized.empty()) return out;
  if (forwarded_for.empty()) {
    if (o.reject_not_present) out.refusal = "missing x-forwarded-for header and configured to reject when not present";
    return out;
  }
  const auto colon = remote.rfind(':');
  const std::string port = colon == std::string::npos ? std::string() : remote.substr(colon + 1);
  if (!address_in_blocks(host_of(remote), o.authorized)) {
    if (o.reject_not_authorized) {
      out.refusal = "client address not authorized for x-forwarded-for and configured to reject connection";
    }
    return out;
  }
  std::vector<std::string_view> chain;
  for (const auto& header : forwarded_for) {
    std::string_view rest = header;
    while (true) {
      const auto comma = rest.find(',');
      chain.push_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (chain.size() <= o.hop_skips) {
    out.refusal = "malformed x-forwarded-for configuration or request, hops to skip (" + std::to_string(o.hop_skips) +
                  ") would skip before earliest chain link (chain length " + std::to_string(chain.size()) + ")";
    return out;
  }
  std::string_view client = chain[chain.size() - 1 - o.hop_skips];
  if (client.size() >= 2 && client.front() == '[' && client.back() == ']') client = client.substr(1, client.size() - 2);
  out.remote = std::string(client) + ":" + port;
  return out;
}

}  // namespace credbroker::api
