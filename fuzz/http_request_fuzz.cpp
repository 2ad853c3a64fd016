// libFuzzer target: bytes off the wire through the server's own request path, without sockets —
// Beast's request parser with the server's limits (prepare_parser), head_of, judge_header
// (service::inspect), authenticate, the body, service::handle up to the router and the routes'
// field conversion, and the request log's loggable_path (api/http_request.hpp, api/service.hpp).
// The service serves the real sys/ routes (health, seal-status, init) and a mount "fz/" whose
// routes have each pattern shape (literal, :name, *rest, list, unauthenticated, credential
// captures) and echo their typed fields.
// Invariants checked: no crash, no hang, no sanitizer report; every response has Content-Type
// application/json and an empty or JSON body; the staged pipeline (header first, then body) gives
// the status handle() alone gives, except the 413 a declared length earns before its body; a
// request without the token never reaches a handler of a protected route; loggable_path is
// deterministic, holds no control character or space, and hashes every credential capture.
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/http_request.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "api/http_request.hpp"
#include "api/service.hpp"
#include "broker/auth/authenticator.hpp"
#include "broker/core/node_status.hpp"
#include "fuzz/fuzz_targets.hpp"

namespace {

using namespace credbroker;
using nlohmann::json;

constexpr std::string_view token = "fuzz-root-token";

seal_snapshot unsealed() {
  seal_snapshot s;
  s.initialized = true;
  s.sealed = false;
  s.threshold = 1;
  s.shares = 1;
  return s;
}

// Every handler of a protected route checks that the request came with the token.
api::reply echo(api::request& req, const api::field_data& fd) {
  if (!req.caller || !req.caller->is_root()) std::abort();
  json d = json::object();
  for (const char* k : {"s", "i", "b", "d", "ss", "cs", "m", "kv"}) {
    if (auto v = fd.get_json(k)) d[k] = *v;
  }
  return api::reply::with_data(d);
}

std::shared_ptr<api::mount_table_entry> fuzz_mount() {
  auto m = std::make_shared<api::mount_table_entry>();
  m->path = "fz/";
  m->type = "fuzz";
  const std::vector<api::field_spec> fields = {
      {"s", api::field_type::string},        {"i", api::field_type::integer},
      {"b", api::field_type::boolean},       {"d", api::field_type::duration, "1h"},
      {"ss", api::field_type::string_slice}, {"cs", api::field_type::comma_slice},
      {"m", api::field_type::map},           {"kv", api::field_type::kv_pairs}};
  for (const char* pattern : {"echo/:name", "lookup-accessor/:accessor", "leases/lookup/*prefix", "paths/*path",
                              "role/:role_name/secret-id/lookup", "items/", "token/:token/x"}) {
    api::route r;
    r.pattern = pattern;
    r.fields = fields;
    for (auto op : {api::operation::read, api::operation::update, api::operation::list, api::operation::remove,
                    api::operation::patch}) {
      r.operations[op] = echo;
    }
    if (std::string_view(pattern) == "echo/:name") {
      r.exists = [](const api::request& req) { return req.captures.at("name") == "there"; };
    }
    m->routes.push_back(std::move(r));
  }
  api::route open;
  open.pattern = "open";
  open.unauthenticated = true;
  open.fields = fields;
  open.operations[api::operation::update] = [](api::request&, const api::field_data& fd) {
    return api::reply::with_data({{"s", fd.get_string("s").value_or("")}});
  };
  m->routes.push_back(std::move(open));
  return m;
}

struct world {
  fixed_node_status node{unsealed()};
  auth::root_token_authenticator authn{secret(std::string(token))};
  api::service svc{node, authn};
  api::request_limits limits;
  world() {
    svc.routes().add_mount(fuzz_mount());
    limits.body_limit = 8 * 1024;
    limits.unauthenticated_body_limit = 1024;
    limits.header_limit = 2 * 1024;
  }
};

void check_response(const api::raw_response& r) {
  if (r.status < 100 || r.status > 999) std::abort();
  if (r.headers.empty() || r.headers.front() != std::pair<std::string, std::string>{"Content-Type", "application/json"}) {
    std::abort();
  }
  if (!r.body.empty() && json::parse(r.body, nullptr, false).is_discarded()) std::abort();
}

void check_loggable(const world& w, const std::string& target) {
  const std::string a = w.svc.loggable_path(target);
  if (a != w.svc.loggable_path(target)) std::abort();
  for (const char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f || c == '"' || c == '\\') std::abort();
  }
  // A routed path with a credential capture is logged with its hash.
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  if (path.substr(0, 4) != "/v1/") return;
  const auto decoded = api::percent_decode(path.substr(4), false);
  if (!decoded) return;
  const auto m = w.svc.routes().find(*decoded);
  if (m.r == nullptr) return;
  for (const auto& [name, value] : m.captures) {
    if (api::is_credential_capture(name) && !value.empty() && a.find("hmac-sha256:") == std::string::npos) std::abort();
  }
}

// Feeds the parser from `in` until it wants no more for now; false on a parse error (in ec).
bool feed(api::request_parser& parser, std::string_view& in, boost::beast::error_code& ec, bool header_only) {
  while (!parser.is_done() && !(header_only && parser.is_header_done())) {
    if (in.empty()) {
      parser.put_eof(ec);
      return !ec;
    }
    const std::size_t n = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(n);
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      if (n == 0 && !in.empty()) return true;  // a buffer too small for the header: a partial request
      continue;
    }
    if (ec) return false;
    if (n == 0) return true;
  }
  return true;
}

}  // namespace

int credbroker::fuzz::fuzz_http_request_one(const std::uint8_t* data, std::size_t size) {
  static const world w;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  api::request_parser parser;
  api::prepare_parser(parser, w.limits);
  boost::beast::error_code ec;
  if (!feed(parser, in, ec, true)) {
    check_response(api::parse_error_response(ec));
    return 0;
  }
  if (!parser.is_header_done()) return 0;  // the connection would wait (and time out)

  api::raw_request head = api::head_of(parser.get(), "fuzz");
  check_loggable(w, head.target);
  const auto& inline_paths = api::default_inline_paths;
  const bool is_inline = std::find(inline_paths.begin(), inline_paths.end(),
                                   head.target.substr(0, head.target.find('?'))) != inline_paths.end();
  const bool probe_only = size > 0 && (data[0] & 0x80) != 0 && (data[size - 1] & 1) != 0;
  api::header_verdict v = api::judge_header(w.svc, head, parser, w.limits, probe_only, is_inline);
  if (v.refuse) {
    check_response(*v.refuse);
    // A refusal from the header alone is what handle() answers too (it needs nothing of the body),
    // but for the 413 of a declared length and the probe-only 503.
    if (!probe_only && v.refuse->status != 413 && w.svc.handle(head).status != v.refuse->status) std::abort();
    return 0;
  }

  api::raw_request staged = head;
  if (v.authenticate_first) {
    if (auto denied = w.svc.authenticate(staged)) {
      check_response(*denied);
      if (denied->status != 403) std::abort();
      return 0;
    }
  }
  if (!feed(parser, in, ec, false)) {
    check_response(api::parse_error_response(ec));
    return 0;
  }
  if (!parser.is_done()) return 0;
  staged.body = parser.get().body();
  if (staged.body.size() > v.body_limit) std::abort();
  const api::raw_response a = w.svc.handle(staged);
  check_response(a);

  // The one-shot pipeline on the same request answers alike.
  api::raw_request whole = head;
  whole.body = staged.body;
  const api::raw_response b = w.svc.handle(whole);
  if (a.status != b.status) std::abort();
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_http_request_one(data, size);
}
#endif
