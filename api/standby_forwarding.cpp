#include "api/standby_forwarding.hpp"

#include <array>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace credbroker::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::string_view forwarded_mark = "x-credbroker-forwarded";

// Served by every node itself, standby or not (Vault registers them outside request forwarding).
constexpr std::array<std::string_view, 5> local_paths = {"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/leader",
                                                         "/v1/sys/init", "/v1/sys/unseal"};

// Hop-by-hop headers (RFC 9110 7.6.1) and the ones the proxy sets itself.
bool hop_by_hop(std::string_view lower) {
  static constexpr std::array<std::string_view, 11> names = {
      "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
      "transfer-encoding", "upgrade", "host", "content-length", "x-forwarded-for"};
  for (auto n : names) {
    if (lower == n) return true;
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

raw_response error_response(int status, const std::string& message) {
  raw_response r;
  r.status = status;
  r.body = nlohmann::json{{"errors", nlohmann::json::array({message})}}.dump() + "\n";
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

struct address {
  std::string scheme, host, port;
};

// "http://10.0.0.5:8200" -> {http, 10.0.0.5, 8200}; a missing port is the scheme's; "[::1]:8200" too.
std::optional<address> parse_address(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  address a;
  a.scheme = lower(url.substr(0, sep));
  std::string rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return std::nullopt;
  std::size_t colon = std::string::npos;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return std::nullopt;
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') colon = close + 1;
  } else {
    colon = rest.rfind(':');
    a.host = rest.substr(0, colon);
  }
  a.port = colon == std::string::npos ? (a.scheme == "https" ? "443" : "80") : rest.substr(colon + 1);
  if (a.host.empty() || a.port.empty()) return std::nullopt;
  return a;
}

}  // namespace

raw_response redirect_to(const std::string& leader_api_addr, const std::string& target) {
  std::string base = leader_api_addr;
  if (base.find("://") == std::string::npos) base = "https://" + base;  // Vault's default scheme
  const auto slash = base.find('/', base.find("://") + 3);
  if (slash != std::string::npos) base.resize(slash);
  const std::string location = base + target;
  raw_response r;
  r.status = 307;
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.body = "<a href=\"" + location + "\">Temporary Redirect</a>.\n\n";
  return r;
}

standby_forwarding::standby_forwarding(const node_status& node, const request_handler& inner, forwarding_options options)
    : node_(node), inner_(inner), options_(options) {}

bool standby_forwarding::goes_to_active(const raw_request& r, std::string& leader) const {
  const ha_snapshot ha = node_.ha();
  if (!ha.enabled || ha.active) return false;
  const auto s = node_.status();
  if (!s.initialized || s.sealed) return false;
  const std::string_view path = std::string_view(r.target).substr(0, r.target.find('?'));
  for (auto p : local_paths) {
    if (path == p) return false;
  }
  leader = ha.leader_address;
  return true;
}

head_decision standby_forwarding::inspect(const raw_request& head) const {
  std::string leader;
  // The active checks the token and the body's size: the standby reads the body (the normal limit)
  // and passes it on.
  if (goes_to_active(head, leader)) return head_decision{};
  return inner_.inspect(head);
}

std::optional<raw_response> standby_forwarding::authenticate(raw_request& head) const {
  std::string leader;
  if (goes_to_active(head, leader)) return std::nullopt;
  return inner_.authenticate(head);
}

raw_response standby_forwarding::handle(const raw_request& req) const {
  std::string leader;
  if (!goes_to_active(req, leader)) return inner_.handle(req);
  return to_active(req, leader);
}

raw_response standby_forwarding::to_active(const raw_request& r, const std::string& leader) const {
  if (leader.empty() || r.header(forwarded_mark) != nullptr) return error_response(503, "no active Vault instance found");
  const auto addr = parse_address(leader);
  if (!addr) return error_response(503, "invalid leader address");
  const bool no_forwarding = r.header("x-vault-no-request-forwarding") != nullptr;
  if (options_.redirect || no_forwarding || addr->scheme != "http") return redirect_to(leader, r.target);
  return forward(r, leader);
}

raw_response standby_forwarding::forward(const raw_request& r, const std::string& leader) const {
  const auto addr = parse_address(leader);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(options_.timeout);
    stream.connect(resolver.resolve(addr->host, addr->port));
    http::request<http::string_body> out;
    out.version(11);
    out.method_string(r.method);
    out.target(r.target);
    for (const auto& [name, value] : r.headers) {
      if (!hop_by_hop(name)) out.insert(name, value);
    }
    out.set(http::field::host, addr->host + ":" + addr->port);
    const std::string client = r.remote.substr(0, r.remote.rfind(':'));
    const std::string* earlier = r.header("x-forwarded-for");
    out.set("X-Forwarded-For", earlier != nullptr ? *earlier + ", " + client : client);
    out.set(std::string(forwarded_mark), "1");
    out.keep_alive(false);
    out.body() = r.body;
    if (!r.body.empty() || r.method != "GET") out.prepare_payload();
    http::write(stream, out);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.body_limit);
    parser.skip(r.method == "HEAD");
    http::read(stream, buffer, parser);
    auto& in = parser.get();
    raw_response res;
    res.status = static_cast<int>(in.result_int());
    for (const auto& f : in) {
      const std::string name = lower(f.name_string());
      if (hop_by_hop(name)) continue;
      res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    res.body = std::move(in.body());
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return res;
  } catch (const std::exception& e) {
    return error_response(503, "the active node at " + leader + " could not be reached: " + e.what());
  }
}

}  // namespace credbroker::api
