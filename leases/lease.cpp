#include "leases/lease.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "broker/core/random.hpp"

namespace credbroker::leases {
namespace {

std::int64_t ms(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
time_point from_ms(std::int64_t v) { return time_point{std::chrono::milliseconds{v}}; }

// A JSON string literal. Plain ASCII is copied as is; anything else goes through nlohmann (which
// replaces invalid UTF-8 with U+FFFD), so the output is always what nlohmann::json would write.
void put_string(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void put_strings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    put_string(out, v[i]);
  }
  out += ']';
}

}  // namespace

std::string new_lease_suffix(time_point issued) {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(0, ms(issued)));
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[v % 62];
    v /= 62;
  }
  return out + random_alnum(16);
}

const char* to_string(lease_state s) {
  switch (s) {
    case lease_state::pending: return "pending";
    case lease_state::active: return "active";
    case lease_state::revoking: return "revoking";
    case lease_state::irrevocable: return "irrevocable";
  }
  return "unknown";
}

std::string encode(const lease& l) {
  // Written by hand (it runs twice per issuance); decode() reads it with nlohmann. The field names
  // are the record format: {"id","conn","role","user","revoke","renew","ttl","max_ttl","issued",
  // "expires","renewed","renewable","accessor","state","attempts","error","next"[,"boot"]} ("boot"
  // only while set).
  const bool retrying = l.state == lease_state::revoking || l.state == lease_state::irrevocable;
  const char state = l.state == lease_state::pending ? 'p' : l.state == lease_state::active ? 'a'
                     : l.state == lease_state::revoking ? 'r' : 'i';
  std::string out;
  out.reserve(256 + l.id.size() + l.username.size());
  out += "L1 ";
  out += state;
  out += ' ';
  out += std::to_string(ms(retrying ? l.next_attempt : l.expire_time));
  out += "\n{\"id\":";
  put_string(out, l.id);
  out += ",\"conn\":";
  put_string(out, l.connection);
  out += ",\"role\":";
  put_string(out, l.role);
  out += ",\"user\":";
  put_string(out, l.username);
  out += ",\"revoke\":";
  put_strings(out, l.revocation_statements);
  out += ",\"renew\":";
  put_strings(out, l.renew_statements);
  auto num = [&out](const char* key, std::int64_t v) {
    out += ",\"";
    out += key;
    out += "\":";
    out += std::to_string(v);
  };
  num("ttl", l.role_ttl.count());
  num("max_ttl", l.role_max_ttl.count());
  num("issued", ms(l.issue_time));
  num("expires", ms(l.expire_time));
  num("renewed", ms(l.last_renewal));
  out += l.renewable ? ",\"renewable\":true" : ",\"renewable\":false";
  out += ",\"accessor\":";
  put_string(out, l.token_accessor);
  out += ",\"state\":";
  put_string(out, to_string(l.state));
  num("attempts", l.attempts);
  out += ",\"error\":";
  put_string(out, l.last_error);
  num("next", ms(l.next_attempt));
  if (!l.boot.empty()) {
    out += ",\"boot\":";
    put_string(out, l.boot);
  }
  out += '}';
  return out;
}

std::optional<schedule_header> peek_schedule(std::string_view text) {
  if (text.size() < 7 || text.substr(0, 3) != "L1 " || text[4] != ' ') return std::nullopt;
  schedule_header h{};
  switch (text[3]) {
    case 'p': h.state = lease_state::pending; break;
    case 'a': h.state = lease_state::active; break;
    case 'r': h.state = lease_state::revoking; break;
    case 'i': h.state = lease_state::irrevocable; break;
    default: return std::nullopt;
  }
  std::int64_t v = 0;
  std::size_t i = 5;
  bool neg = i < text.size() && text[i] == '-';
  if (neg) ++i;
  const std::size_t digits_from = i;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + (text[i] - '0');
  if (i == digits_from || i >= text.size() || text[i] != '\n') return std::nullopt;
  h.due = from_ms(neg ? -v : v);
  return h;
}

result<lease> decode(std::string_view text) {
  if (text.substr(0, 3) == "L1 ") {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return make_error(errc::integrity_failure, "lease record has no body");
    text.remove_prefix(nl + 1);
  }
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(errc::integrity_failure, "lease record is not valid JSON");
  try {
    lease l;
    l.id = j.at("id").get<std::string>();
    l.connection = j.at("conn").get<std::string>();
    l.role = j.value("role", "");
    l.username = j.at("user").get<std::string>();
    l.revocation_statements = j.value("revoke", std::vector<std::string>{});
    l.renew_statements = j.value("renew", std::vector<std::string>{});
    l.role_ttl = std::chrono::seconds{j.value("ttl", std::int64_t{0})};
    l.role_max_ttl = std::chrono::seconds{j.value("max_ttl", std::int64_t{0})};
    l.issue_time = from_ms(j.at("issued").get<std::int64_t>());
    l.expire_time = from_ms(j.at("expires").get<std::int64_t>());
    l.last_renewal = from_ms(j.value("renewed", std::int64_t{0}));
    l.renewable = j.value("renewable", true);
    l.token_accessor = j.value("accessor", "");
    const std::string state = j.value("state", "active");
    if (state == "pending") l.state = lease_state::pending;
    else if (state == "active") l.state = lease_state::active;
    else if (state == "revoking") l.state = lease_state::revoking;
    else if (state == "irrevocable") l.state = lease_state::irrevocable;
    else return make_error(errc::integrity_failure, "lease " + l.id + " has an unknown state \"" + state + "\"");
    l.attempts = j.value("attempts", 0);
    l.last_error = j.value("error", "");
    l.next_attempt = from_ms(j.value("next", std::int64_t{0}));
    l.boot = j.value("boot", "");
    return l;
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::integrity_failure, std::string("lease record is incomplete: ") + e.what());
  }
}

}  // namespace credbroker::leases
