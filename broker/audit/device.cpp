#include "broker/audit/device.hpp"

#include <set>

#include "broker/audit/file_sink.hpp"
#include "broker/audit/socket_sink.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::audit {
namespace {

const std::set<std::string> common_options = {"format", "prefix", "hmac_accessor", "log_raw", "elide_list_responses"};
const std::set<std::string> file_options = {"file_path", "path", "mode"};
const std::set<std::string> socket_options = {"address", "socket_type", "write_timeout"};

error bad(std::string message) { return make_error(errc::invalid_request, std::move(message)); }

std::optional<std::string> option(const device_entry& e, const std::string& key) {
  if (auto it = e.options.find(key); it != e.options.end()) return it->second;
  return std::nullopt;
}

// Go's strconv.ParseBool.
std::optional<bool> go_bool(const std::string& s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

status bool_option(const device_entry& e, const std::string& key, bool& out) {
  const auto v = option(e, key);
  if (!v) return ok_v;
  const auto b = go_bool(*v);
  if (!b) return bad("option " + key + "=\"" + *v + "\": expected true or false");
  out = *b;
  return ok_v;
}

status check_known(const device_entry& e) {
  const auto& own = e.type == "file" ? file_options : socket_options;
  for (const auto& [key, value] : e.options) {
    if (common_options.contains(key) || own.contains(key)) continue;
    std::string list;
    for (const auto& set : {common_options, own}) {
      for (const auto& k : set) list += (list.empty() ? "" : ", ") + k;
    }
    return bad("unknown option \"" + key + "\" for a " + e.type + " audit device; expected one of: " + list);
  }
  return ok_v;
}

result<unsigned> file_mode(const device_entry& e) {
  const auto v = option(e, "mode");
  if (!v) return 0600u;
  if (v->empty() || v->size() > 4 || v->find_first_not_of("01234567") != std::string::npos) {
    return bad("option mode=\"" + *v + "\": expected octal permissions such as 0600 or 0640");
  }
  const unsigned m = static_cast<unsigned>(std::stoul(*v, nullptr, 8));
  if (m > 0777) return bad("option mode=\"" + *v + "\": setuid, setgid and sticky bits are not allowed");
  if ((m & 0111) != 0) {
    return bad("option mode=\"" + *v + "\": audit files cannot be executable; use a mode such as 0600 or 0640");
  }
  return m;
}

result<std::chrono::milliseconds> timeout_of(const device_entry& e) {
  const auto v = option(e, "write_timeout");
  if (!v) return std::chrono::milliseconds(2000);
  if (!v->empty() && v->find_first_not_of("0123456789") == std::string::npos) {
    if (v->size() > 6) return bad("option write_timeout=\"" + *v + "\": too long");
    return std::chrono::milliseconds(std::stoll(*v) * 1000);
  }
  auto d = parse_go_duration(*v);
  if (!d) return bad("option write_timeout=\"" + *v + "\": " + d.err().message);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() <= 0) return bad("option write_timeout=\"" + *v + "\": must be positive");
  return ms;
}

std::string file_path_of(const device_entry& e) {
  if (auto p = option(e, "file_path")) return *p;
  return option(e, "path").value_or("");
}

result<std::unique_ptr<sink>> open_sink(const device_entry& e, bool lazy) {
  if (e.type == "file") {
    auto mode = file_mode(e);
    if (!mode) return std::move(mode).err();
    auto s = file_sink::open(file_path_of(e), *mode, lazy);
    if (!s) return std::move(s).err();
    return std::unique_ptr<sink>(std::move(*s));
  }
  socket_settings st;
  st.address = option(e, "address").value_or("");
  st.socket_type = option(e, "socket_type").value_or("tcp");
  auto t = timeout_of(e);
  if (!t) return std::move(t).err();
  st.write_timeout = *t;
  st.label = e.path;
  auto s = socket_sink::open(std::move(st));
  if (!s) return std::move(s).err();
  return std::unique_ptr<sink>(std::move(*s));
}

}  // namespace

std::string device::request_line(const log_input& in, time_point now) const {
  return audit::request_line(in, salt_, options_, now);
}

std::string device::response_line(const log_input& in, time_point now) const {
  return audit::response_line(in, salt_, options_, now);
}

result<format_options> parse_options(const device_entry& e, const device_policy& p) {
  if (e.type != "file" && e.type != "socket") {
    if (e.type == "syslog" || e.type == "http") {
      return bad("audit device type \"" + e.type + "\" is not supported by credbroker; use file or socket");
    }
    return bad("unknown backend type: \"" + e.type + "\"");
  }
  if (auto s = check_known(e); !s) return std::move(s).err();
  format_options o;
  const std::string format = option(e, "format").value_or("json");
  if (format == "jsonx") {
    o.format = format_kind::jsonx;
  } else if (format != "json") {
    return bad("unknown format type \"" + format + "\"; expected json or jsonx");
  }
  o.prefix = option(e, "prefix").value_or("");
  if (auto s = bool_option(e, "hmac_accessor", o.hmac_accessor); !s) return std::move(s).err();
  if (auto s = bool_option(e, "log_raw", o.log_raw); !s) return std::move(s).err();
  if (auto s = bool_option(e, "elide_list_responses", o.elide_list_responses); !s) return std::move(s).err();
  if (e.type == "file") {
    if (file_path_of(e).empty()) return bad("file_path is required");
    if (auto m = file_mode(e); !m) return std::move(m).err();
    if (!o.prefix.empty() && !p.allow_file_prefix) {
      return bad("audit log prefixing is not allowed: set allow_audit_log_prefixing in the server configuration "
                 "to use the prefix option with a file device");
    }
  } else {
    if (!option(e, "address") || option(e, "address")->empty()) return bad("address is required");
    const std::string type = option(e, "socket_type").value_or("tcp");
    if (type != "tcp" && type != "udp" && type != "unix") {
      return bad("option socket_type=\"" + type + "\": expected tcp, udp or unix");
    }
    if (auto t = timeout_of(e); !t) return std::move(t).err();
  }
  return o;
}

result<std::shared_ptr<device>> make_device(const device_entry& e, secret salt_key, const device_policy& p,
                                            bool lazy) {
  auto o = parse_options(e, p);
  if (!o) return std::move(o).err();
  auto s = open_sink(e, lazy);
  if (!s) return std::move(s).err();
  return std::make_shared<device>(e, std::move(*o), salt(std::move(salt_key)), std::move(*s));
}

}  // namespace credbroker::audit
