#include "plugins/postgres/connection_string.hpp"

#include "broker/plugin/sanitize.hpp"

#include <algorithm>

namespace credbroker::plugins::postgres {
namespace {

bool is_uri(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

std::string quote_keyword_value(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

void replace_all(std::string& s, std::string_view needle, const std::string& with) {
  for (std::size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + with.size())) {
    s.replace(pos, needle.size(), with);
  }
}

}  // namespace

result<secret> render_connection_string(const connection_template& t) {
  if (t.url.empty()) return make_error(errc::invalid_request, "connection_url cannot be empty");
  for (std::string_view field : {std::string_view(t.username), std::string_view(t.password.reveal())}) {
    if (field.find("{{") != std::string_view::npos) {
      return make_error(errc::invalid_request, "username and password may not contain template strings");
    }
  }
  std::string out = t.url;
  const bool uri = is_uri(out);
  auto encode = [&](std::string_view v) {
    if (uri) return t.disable_escaping ? std::string(v) : plugin::percent_encode(v);
    return quote_keyword_value(v);
  };
  auto encode_value = [&](std::string_view v) { return uri ? plugin::percent_encode(v) : quote_keyword_value(v); };
  const std::string user = encode(t.username);
  replace_all(out, "{{username}}", user);
  replace_all(out, "{{name}}", user);
  std::string pass = encode(t.password.reveal());
  replace_all(out, "{{password}}", pass);
  std::fill(pass.begin(), pass.end(), '\0');

  auto has_param = [&](std::string_view key) { return out.find(std::string(key) + "=") != std::string::npos; };
  std::string extra;
  auto add = [&](std::string_view key, const std::string& value) {
    if (!has_param(key)) extra += (uri ? "&" : " ") + std::string(key) + "=" + value;
  };
  add("connect_timeout", std::to_string(t.connect_timeout_seconds));
  // A session whose server vanished without a reset (a network black hole) must not hang a request:
  // unacknowledged data gives up after connect_timeout, an idle session is probed by keepalives.
  add("tcp_user_timeout", std::to_string(t.connect_timeout_seconds * 1000));
  add("keepalives_idle", "30");
  add("keepalives_interval", "10");
  add("keepalives_count", "3");
  extra += (uri ? "&" : " ") + std::string("application_name=") + encode_value(t.application_name);
  if (uri) extra[0] = out.find('?') == std::string::npos ? '?' : '&';
  out += extra;
  return secret(std::move(out));
}

}  // namespace credbroker::plugins::postgres
