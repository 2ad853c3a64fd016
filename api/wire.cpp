#include "api/wire.hpp"

#include <cctype>

#include "api/forwarded_for.hpp"
#include "broker/core/duration.hpp"
#include "broker/core/random.hpp"

namespace credbroker::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Vault's isForm: Content-Type application/x-www-form-urlencoded (parameters allowed) and a body
// that does not start, after whitespace, like JSON ('{' or '[').
bool is_form(const raw_request& raw) {
  const std::string* ct = raw.header("content-type");
  if (ct == nullptr) return false;
  std::string media = ct->substr(0, ct->find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/x-www-form-urlencoded") return false;
  const auto first = raw.body.find_first_not_of(" \t\r\n");
  return first == std::string::npos || (raw.body[first] != '{' && raw.body[first] != '[');
}

// a=1&b=2 -> {"a":"1","b":"2"}; a repeated key's values are joined with commas, as Vault's.
std::optional<nlohmann::json> parse_form(std::string_view body) {
  nlohmann::json out = nlohmann::json::object();
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    if (auto it = out.find(*key); it != out.end()) {
      *it = it->get<std::string>() + "," + *value;
    } else {
      out[*key] = std::move(*value);
    }
  }
  return out;
}

// True when arrays and objects nest deeper than `limit` (outside strings). Copying, printing and
// converting a JSON value recurse once per level: a 600 KiB body of '[' would overflow a stack.
bool nests_deeper_than(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view s, bool form) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

parsed parse_head(const raw_request& raw) {
  parsed p;
  request req;
  req.method = raw.method;
  req.client_address = host_of(raw.remote);

  // Target -> path + query.
  const std::string_view target = raw.target;
  const auto qpos = target.find('?');
  const std::string_view raw_path = target.substr(0, qpos);
  const std::string_view raw_query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  if (raw_path.substr(0, 4) != "/v1/") {
    p.failure = reply::not_found();
    return p;
  }
  auto path = percent_decode(raw_path.substr(4), false);
  if (!path) {
    p.failure = reply::fail(400, "invalid percent-encoding in request path");
    return p;
  }
  req.path = std::move(*path);
  for (std::size_t start = 0; start <= raw_query.size() && !raw_query.empty();) {
    const auto amp = raw_query.find('&', start);
    const std::string_view pair = raw_query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
      if (!key || !value) {
        p.failure = reply::fail(400, "invalid percent-encoding in query string");
        return p;
      }
      req.query.emplace(std::move(*key), std::move(*value));  // first value wins, as Go's Get
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }

  // Verb -> operation.
  const std::string& m = raw.method;
  if (m == "GET") {
    req.op = operation::read;
  } else if (m == "LIST") {
    req.op = operation::list;
  } else if (m == "POST" || m == "PUT") {
    req.op = operation::update;
    p.takes_body = true;
  } else if (m == "DELETE") {
    req.op = operation::remove;
  } else if (m == "HEAD") {
    req.op = operation::head;
  } else if (m == "PATCH") {
    const std::string* ct = raw.header("content-type");
    if (ct == nullptr || ct->rfind("application/merge-patch+json", 0) != 0) {
      p.failure = reply::fail(415, "PATCH requires the Content-Type header to be application/merge-patch+json");
      return p;
    }
    req.op = operation::patch;
    p.takes_body = true;
  } else {
    p.failure = reply::fail(405, std::vector<std::string>{});
    return p;
  }
  if (auto it = req.query.find("list"); it != req.query.end()) {
    const auto b = parse_go_bool(it->second);
    if (!b) {
      p.failure = reply::fail(400, "invalid value for query parameter \"list\": \"" + it->second +
                                       "\" (expected true, false, 1, 0, t or f)");
      return p;
    }
    if (*b && req.op == operation::read) req.op = operation::list;
    req.query.erase(it);
  }
  if (req.op == operation::list && (req.path.empty() || req.path.back() != '/')) req.path += '/';

  // Token.
  if (const std::string* t = raw.header("x-vault-token"); t != nullptr && !t->empty()) {
    req.token = secret(*t);
  } else if (const std::string* a = raw.header("authorization"); a != nullptr) {
    constexpr std::string_view bearer = "Bearer ";
    if (a->size() > bearer.size() && std::string_view(*a).substr(0, bearer.size()) == bearer) {
      req.token = secret(a->substr(bearer.size()));
    }
  }
  if (const std::string* w = raw.header("x-vault-wrap-ttl"); w != nullptr && !w->empty()) {
    auto ttl = parse_duration_seconds(*w);
    if (!ttl || ttl->count() == 0) {
      p.failure = reply::fail(400, "error parsing X-Vault-Wrap-TTL header: " +
                                       (ttl ? std::string("requested wrap ttl must be greater than zero") : ttl.err().message));
      return p;
    }
    req.wrap_ttl = *ttl;
  }
  p.req = std::move(req);
  return p;
}

std::optional<reply> parse_body(const raw_request& raw, const parsed& head, request& req) {
  if (!head.takes_body) {
    for (const auto& [k, v] : req.query) req.body[k] = v;
    // A JSON object sent with DELETE counts too (the Go client's RekeyCancelWithNonce sends
    // {"nonce": ...} there); the query string wins, and anything else in the body is ignored.
    if (req.op == operation::remove && raw.body.find_first_not_of(" \t\r\n") != std::string::npos &&
        !nests_deeper_than(raw.body, max_json_depth)) {
      const nlohmann::json body = nlohmann::json::parse(raw.body, nullptr, false);
      if (body.is_object()) {
        for (const auto& [k, v] : body.items()) {
          if (!req.body.contains(k)) req.body[k] = v;
        }
      }
    }
    return std::nullopt;
  }
  if (is_form(raw)) {
    auto form = parse_form(raw.body);
    if (!form) return reply::fail(400, "error parsing form data");
    req.body = std::move(*form);
    return std::nullopt;
  }
  const auto first = raw.body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;
  if (nests_deeper_than(raw.body, max_json_depth)) {
    return reply::fail(400, "failed to parse JSON input: nested deeper than " + std::to_string(max_json_depth) +
                                " levels");
  }
  nlohmann::json body = nlohmann::json::parse(raw.body, nullptr, false);
  if (body.is_discarded()) return reply::fail(400, "failed to parse JSON input: invalid JSON in request body");
  if (body.is_null()) body = nlohmann::json::object();
  if (!body.is_object()) {
    return reply::fail(400, std::string("failed to parse JSON input: expected a JSON object, got ") + body.type_name());
  }
  req.body = std::move(body);
  return std::nullopt;
}

parsed parse_request(const raw_request& raw) {
  parsed p = parse_head(raw);
  if (!p.req) return p;
  if (auto failure = parse_body(raw, p, *p.req)) {
    p.failure = std::move(*failure);
    p.req.reset();
    return p;
  }
  p.req->request_id = random_uuid();
  return p;
}

raw_response render(const reply& r, const request* req, std::string_view mount_type) {
  raw_response out;
  out.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  switch (r.k) {
    case reply::kind::empty:
      out.status = 204;
      break;
    case reply::kind::raw:
      out.status = r.status;
      if (!r.data.is_null()) out.body = json_text(r.data);
      if (!r.content_type.empty()) {
        out.headers[0].second = r.content_type;
        out.body = r.text;
      }
      break;
    case reply::kind::error: {
      out.status = r.status;
      out.body = json_text(nlohmann::json{{"errors", r.errors}});
      break;
    }
    case reply::kind::envelope: {
      out.status = r.status;
      nlohmann::json env = {
          {"request_id", req != nullptr ? req->request_id : random_uuid()},
          {"lease_id", r.lease_id},
          {"renewable", r.renewable},
          {"lease_duration", r.lease_duration},
          {"data", r.data},
          {"wrap_info", r.wrap_info},
          {"warnings", r.warnings.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.warnings)},
          {"auth", r.auth},
          {"mount_type", std::string(mount_type)},
      };
      if (r.inject_top_level && r.data.is_object()) {
        for (const auto& [k, v] : r.data.items()) {
          if (!env.contains(k)) env[k] = v;
        }
      }
      out.body = json_text(env);
      break;
    }
  }
  return out;
}

}  // namespace credbroker::api
