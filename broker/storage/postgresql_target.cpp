#include "broker/storage/postgresql_target.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <map>
#include <memory>

namespace credbroker::storage {
namespace {

bool is_uri(const std::string& s) { return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0; }

std::string percent_encoded(std::string_view raw) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

void replace_all(std::string& s, const std::string& needle, std::string_view with) {
  if (needle.empty()) return;
  for (auto pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + with.size())) {
    s.replace(pos, needle.size(), with);
  }
}

}  // namespace

result<postgresql_target> postgresql_target::parse(const secret& connection_url, int connect_timeout_seconds) {
  const std::string& url = connection_url.reveal();
  if (url.empty()) return make_error(errc::invalid_request, "connection_url is empty");
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(PQconninfoParse(url.c_str(), &err),
                                                                      PQconninfoFree);
  if (!opts) {
    std::string why = err != nullptr ? err : "out of memory";
    PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    postgresql_target scrubber;
    scrubber.password_ = connection_url;  // the whole URL is the only thing we know is sensitive
    return make_error(errc::invalid_request, "connection_url cannot be parsed: " + scrubber.scrub(why));
  }
  std::map<std::string, std::string> set;
  for (const PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr) set.emplace(o->keyword, o->val);
  }
  postgresql_target t;
  if (auto p = set.find("password"); p != set.end()) t.password_ = secret(p->second);
  auto value = [&](const char* k) {
    auto it = set.find(k);
    return it == set.end() ? std::string() : it->second;
  };
  std::string host = value("host");
  if (host.empty()) host = value("hostaddr");
  if (host.empty()) host = "local socket";
  std::string port = value("port");
  if (port.empty()) port = "5432";
  std::string db = value("dbname");
  if (db.empty()) db = value("user");
  t.server_ = host + ":" + port + (db.empty() ? "" : "/" + db);

  std::string out = url;
  std::string extra;
  const bool uri = is_uri(out);
  auto add = [&](const char* key, const std::string& v) {
    if (!set.contains(key)) extra += (uri ? "&" : " ") + std::string(key) + "=" + v;
  };
  add("connect_timeout", std::to_string(connect_timeout_seconds));
  add("application_name", "credbroker-storage");
  // A server that vanished without a reset must fail a call, not hang it: unacknowledged data gives
  // up after the connect timeout, an idle session is probed by keepalives.
  add("tcp_user_timeout", std::to_string(connect_timeout_seconds * 1000));
  add("keepalives", "1");
  add("keepalives_idle", "10");
  add("keepalives_interval", "5");
  add("keepalives_count", "3");
  if (!extra.empty()) {
    if (uri) extra[0] = out.find('?') == std::string::npos ? '?' : '&';
    out += extra;
  }
  t.conninfo_ = secret(std::move(out));
  return t;
}

std::string postgresql_target::scrub(std::string text) const {
  if (password_.empty()) return text;
  replace_all(text, password_.reveal(), secret::redacted);
  replace_all(text, percent_encoded(password_.reveal()), secret::redacted);
  return text;
}

error postgresql_target::failure(const std::string& what, const std::string& detail) const {
  std::string d = scrub(detail);
  while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
  for (auto& c : d) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return make_error(errc::storage_failure, what + " (PostgreSQL at " + server_ + "): " + d);
}

error postgresql_target::failure(const std::string& what, const std::exception& e) const {
  return failure(what, std::string(e.what()));
}

}  // namespace credbroker::storage
