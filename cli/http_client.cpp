#include "cli/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdlib>

#include "cli/token_helper.hpp"

namespace credbroker::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : dflt;
}

bool truthy(const std::string& v) { return v == "true" || v == "1" || v == "TRUE" || v == "True"; }

struct target {
  bool tls = false;
  std::string host, port, hostport;
};

result<target> parse_address(const std::string& address) {
  target t;
  t.tls = address.rfind("https://", 0) == 0;
  if (!t.tls && address.rfind("http://", 0) != 0) {
    return make_error(errc::invalid_request, "address \"" + address + "\" must start with http:// or https://");
  }
  t.hostport = address.substr(t.tls ? 8 : 7);
  if (auto slash = t.hostport.find('/'); slash != std::string::npos) t.hostport.resize(slash);
  t.host = t.hostport;
  t.port = t.tls ? "443" : "80";
  if (auto colon = t.hostport.rfind(':'); colon != std::string::npos && t.hostport.find(']') == std::string::npos) {
    t.host = t.hostport.substr(0, colon);
    t.port = t.hostport.substr(colon + 1);
  }
  return t;
}

// Go's http client names the method in title case in its errors: Get "http://...": ...
std::string go_method_name(const std::string& wire_method) {
  std::string m = wire_method;
  for (std::size_t i = 1; i < m.size(); ++i) m[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[i])));
  return m;
}

template <class Stream>
http::response<http::string_body> round_trip(Stream& stream, const http::request<http::string_body>& req) {
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::write(stream, req);
  http::read(stream, buf, res);
  return res;
}

}  // namespace

http_client::http_client(std::string address, secret token, tls_options tls)
    : address_(std::move(address)), token_(std::move(token)), tls_(std::move(tls)) {
  while (!address_.empty() && address_.back() == '/') address_.pop_back();
}

http_client http_client::from_environment(const std::string& address_flag, const std::string& ca_cert_flag,
                                          std::optional<bool> skip_verify_flag) {
  std::string addr = address_flag;
  if (addr.empty()) addr = env_or("CREDBROKER_ADDR", env_or("VAULT_ADDR", "http://127.0.0.1:8200"));
  std::string token = env_or("CREDBROKER_TOKEN", env_or("VAULT_TOKEN", ""));
  if (token.empty()) {
    if (auto stored = read_stored_token(); stored) token = stored->reveal();
  }
  tls_options tls;
  tls.ca_cert = ca_cert_flag.empty() ? env_or("VAULT_CACERT", "") : ca_cert_flag;
  tls.skip_verify = skip_verify_flag.value_or(truthy(env_or("VAULT_SKIP_VERIFY", "")));
  return http_client(addr, secret(token), tls);
}

http_client http_client::with_token(secret token) const { return http_client(address_, std::move(token), tls_); }

std::string http_client::describe(const std::string& method, const std::string& path) const {
  std::string target = path;
  std::string wire = method;
  if (method == "LIST") {
    wire = "GET";
    target += (target.find('?') == std::string::npos ? "?" : "&") + std::string("list=true");
  }
  return wire + " " + address_ + "/v1/" + target;
}

std::string error_text(const http_reply& r) {
  if (r.body.is_object() && r.body.contains("errors") && r.body["errors"].is_array() && !r.body["errors"].empty() &&
      r.body["errors"][0].is_string()) {
    return r.body["errors"][0].get<std::string>();
  }
  return "HTTP " + std::to_string(r.status);
}

std::string api_error_text(const std::string& method_and_url, const http_reply& r) {
  const bool structured = r.body.is_object() && r.body.contains("errors") && r.body["errors"].is_array();
  std::string out = "Error making API request.\n\nURL: " + method_and_url + "\nCode: " + std::to_string(r.status) +
                    ". " + (structured ? "Errors" : "Raw Message") + ":\n\n";
  if (!structured) return out + r.raw;
  std::string lines;
  for (const auto& e : r.body["errors"]) {
    if (!lines.empty()) lines += "\n";
    lines += "* " + (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return out + lines;
}

result<http_reply> http_client::call(const std::string& method, const std::string& path, const nlohmann::json* body) const {
  auto t = parse_address(address_);
  if (!t) return std::move(t).err();
  const std::string described = describe(method, path);
  const std::string wire_method = described.substr(0, described.find(' '));
  http::request<http::string_body> req;
  req.method_string(wire_method);
  req.target(described.substr(described.find("/v1/")));
  req.version(11);
  req.set(http::field::host, t->hostport);
  req.set("X-Vault-Request", "true");
  if (!token_.empty()) req.set("X-Vault-Token", token_.reveal());
  if (body != nullptr) {
    req.set(http::field::content_type, "application/json");
    req.body() = body->dump();
  }
  req.prepare_payload();
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(t->host, t->port);
    http::response<http::string_body> res;
    if (t->tls) {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      if (tls_.skip_verify) {
        ctx.set_verify_mode(asio::ssl::verify_none);
      } else {
        ctx.set_verify_mode(asio::ssl::verify_peer);
        if (!tls_.ca_cert.empty()) ctx.load_verify_file(tls_.ca_cert);
        else ctx.set_default_verify_paths();
      }
      beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
      // SNI (SSL_set_tlsext_host_name without its C-style cast).
      SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               static_cast<void*>(const_cast<char*>(t->host.c_str())));
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      beast::get_lowest_layer(stream).connect(endpoints);
      stream.handshake(asio::ssl::stream_base::client);
      res = round_trip(stream, req);
    } else {
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(60));
      stream.connect(endpoints);
      res = round_trip(stream, req);
    }
    http_reply out;
    out.status = static_cast<int>(res.result_int());
    out.raw = res.body();
    if (!res.body().empty()) out.body = nlohmann::json::parse(res.body(), nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  } catch (const std::exception& e) {
    const std::string url = described.substr(described.find(' ') + 1);
    return make_error(errc::unavailable, go_method_name(wire_method) + " \"" + url + "\": " + e.what());
  }
}

}  // namespace credbroker::cli
