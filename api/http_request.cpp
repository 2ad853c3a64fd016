#include "api/http_request.hpp"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/error.hpp>
#include <nlohmann/json.hpp>

namespace credbroker::api {

namespace http = boost::beast::http;

void prepare_parser(request_parser& parser, const request_limits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header_limit, UINT32_MAX)));
  parser.body_limit(std::max(limits.body_limit, limits.unauthenticated_body_limit));
}

raw_request head_of(const http::request_header<>& header, std::string remote) {
  raw_request r;
  r.method = std::string(header.method_string());
  r.target = std::string(header.target());
  for (const auto& field : header) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  r.remote = std::move(remote);
  return r;
}

raw_response error_response(int status, const std::string& message) {
  raw_response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  r.body = nlohmann::json{{"errors", {message}}}.dump();
  return r;
}

raw_response parse_error_response(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return error_response(431, "http: request header too large");
  if (ec == http::error::body_limit) return error_response(413, "http: request body too large");
  return error_response(400, "malformed HTTP request");
}

header_verdict judge_header(const request_handler& handler, const raw_request& head, request_parser& parser,
                            const request_limits& limits, bool probe_only, bool inline_path) {
  header_verdict v;
  if (probe_only && !inline_path) {
    v.refuse = error_response(503, "too many connections: only health checks are served right now");
    return v;
  }
  head_decision d = handler.inspect(head);
  if (d.refuse) {
    v.refuse = std::move(d.refuse);
    return v;
  }
  v.body_limit = d.open ? limits.unauthenticated_body_limit : limits.body_limit;
  if (const auto length = parser.content_length(); length && *length > v.body_limit) {
    v.refuse = error_response(413, "http: request body too large");
    return v;
  }
  parser.body_limit(v.body_limit);  // what a chunked body may still add up to
  v.authenticate_first = d.needs_token && !parser.is_done();
  return v;
}

bool expects_continue(const http::request_header<>& header) {
  if (header.version() < 11) return false;
  const auto it = header.find(http::field::expect);
  if (it == header.end()) return false;
  const auto value = it->value();
  constexpr std::string_view want = "100-continue";
  return value.size() == want.size() &&
         std::equal(value.begin(), value.end(), want.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace credbroker::api
