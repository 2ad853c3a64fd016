#include "cli/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdlib>

namespace credbroker::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http_client::http_client(std::string address, secret token) : address_(std::move(address)), token_(std::move(token)) {
  while (!address_.empty() && address_.back() == '/') address_.pop_back();
}

http_client http_client::from_environment(const std::string& address_flag) {
  std::string addr = address_flag;
  if (addr.empty()) {
    if (const char* a = std::getenv("CREDBROKER_ADDR"); a && *a) addr = a;
    else if (const char* v = std::getenv("VAULT_ADDR"); v && *v) addr = v;
    else addr = "http://127.0.0.1:8200";
  }
  std::string token;
  if (const char* t = std::getenv("CREDBROKER_TOKEN"); t && *t) token = t;
  else if (const char* v = std::getenv("VAULT_TOKEN"); v && *v) token = v;
  return http_client(addr, secret(token));
}

std::string error_text(const http_reply& r) {
  if (r.body.is_object() && r.body.contains("errors") && r.body["errors"].is_array() && !r.body["errors"].empty()) {
    return r.body["errors"][0].get<std::string>();
  }
  return "HTTP " + std::to_string(r.status);
}

result<http_reply> http_client::call(const std::string& method, const std::string& path, const nlohmann::json* body) const {
  const bool tls = address_.rfind("https://", 0) == 0;
  if (!tls && address_.rfind("http://", 0) != 0) {
    return make_error(errc::invalid_request, "address \"" + address_ + "\" must start with http:// or https://");
  }
  std::string hostport = address_.substr(tls ? 8 : 7);
  if (auto slash = hostport.find('/'); slash != std::string::npos) hostport.resize(slash);
  std::string host = hostport, port = tls ? "443" : "80";
  if (auto colon = hostport.rfind(':'); colon != std::string::npos && hostport.find(']') == std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  http::request<http::string_body> req;
  req.method_string(method);
  req.target("/v1/" + path);
  req.version(11);
  req.set(http::field::host, hostport);
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
    const auto endpoints = resolver.resolve(host, port);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (tls) {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      const char* skip = std::getenv("VAULT_SKIP_VERIFY");
      if (skip != nullptr && (std::string(skip) == "true" || std::string(skip) == "1")) {
        ctx.set_verify_mode(asio::ssl::verify_none);
      } else {
        ctx.set_verify_mode(asio::ssl::verify_peer);
        if (const char* ca = std::getenv("VAULT_CACERT"); ca && *ca) ctx.load_verify_file(ca);
        else ctx.set_default_verify_paths();
      }
      beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
      // SNI (SSL_set_tlsext_host_name without its C-style cast).
      SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               static_cast<void*>(const_cast<char*>(host.c_str())));
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      beast::get_lowest_layer(stream).connect(endpoints);
      stream.handshake(asio::ssl::stream_base::client);
      http::write(stream, req);
      http::read(stream, buf, res);
    } else {
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(60));
      stream.connect(endpoints);
      http::write(stream, req);
      http::read(stream, buf, res);
    }
    http_reply out;
    out.status = static_cast<int>(res.result_int());
    if (!res.body().empty()) out.body = nlohmann::json::parse(res.body(), nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  } catch (const std::exception& e) {
    return make_error(errc::unavailable, "cannot reach " + address_ + ": " + e.what());
  }
}

}  // namespace credbroker::cli
