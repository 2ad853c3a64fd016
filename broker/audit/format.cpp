#include "broker/audit/format.hpp"

#include <ctime>

#include "broker/core/duration.hpp"

namespace credbroker::audit {
namespace {

using nlohmann::json;

void put(json& obj, const char* key, const std::string& v) {
  if (!v.empty()) obj[key] = v;
}

void put(json& obj, const char* key, std::int64_t v) {
  if (v != 0) obj[key] = v;
}

void put(json& obj, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) obj[key] = v;
}

// Go's time.Unix(t).Format(time.RFC3339) in UTC: "2026-01-02T03:04:05Z".
std::string rfc3339_seconds(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string token_hash(const secret& token, const salt& s) { return token.empty() ? "" : s.hmac(token.reveal()); }

std::string accessor_text(const std::string& accessor, const salt& s, const format_options& o) {
  if (accessor.empty()) return "";
  return o.hmac_accessor ? s.hmac(accessor) : accessor;
}

json auth_json(const auth_record& a, const salt& s, const format_options& o) {
  json out = json::object();
  put(out, "client_token", token_hash(a.client_token, s));
  put(out, "accessor", accessor_text(a.accessor, s, o));
  put(out, "display_name", a.display_name);
  put(out, "policies", a.policies);
  put(out, "token_policies", a.token_policies);
  if (!a.metadata.empty()) out["metadata"] = a.metadata;
  put(out, "num_uses", a.num_uses);
  out["token_type"] = a.token_type.empty() ? "default" : a.token_type;
  put(out, "token_ttl", a.token_ttl);
  if (a.token_issue_time != 0) out["token_issue_time"] = rfc3339_seconds(a.token_issue_time);
  if (a.policy_allowed) out["policy_results"] = {{"allowed", *a.policy_allowed}};
  return out;
}

// A copy of request or response data, hashed as the options say.
json data_json(const json& data, const salt& s, const format_options& o, bool elide) {
  json out = data;
  if (elide) elide_list_data(out);
  hash_data(out, s, !o.log_raw);
  return out;
}

bool has_data(const json& data) { return data.is_object() ? !data.empty() : !data.is_null(); }

json request_json(const request_record& r, const salt& s, const format_options& o) {
  json out = json::object();
  put(out, "id", r.id);
  put(out, "operation", r.operation);
  put(out, "mount_type", r.mount_type);
  put(out, "mount_point", r.mount_point);
  put(out, "client_token", token_hash(r.client_token, s));
  put(out, "client_token_accessor", accessor_text(r.client_token_accessor, s, o));
  out["namespace"] = {{"id", "root"}};
  put(out, "path", r.path);
  if (has_data(r.data)) out["data"] = data_json(r.data, s, o, false);
  put(out, "remote_address", r.remote_address);
  put(out, "remote_port", r.remote_port);
  return out;
}

json wrap_json(const wrap_record& w, const salt& s, const format_options& o) {
  json out = json::object();
  put(out, "token", token_hash(w.token, s));
  put(out, "accessor", accessor_text(w.accessor, s, o));
  put(out, "ttl", w.ttl);
  out["creation_time"] = format_rfc3339_nano(w.creation_time);
  put(out, "creation_path", w.creation_path);
  put(out, "wrapped_accessor", accessor_text(w.wrapped_accessor, s, o));
  return out;
}

json response_json(const log_input& in, const salt& s, const format_options& o) {
  const response_record& r = *in.response;
  json out = json::object();
  put(out, "mount_type", in.request.mount_type);
  put(out, "mount_point", in.request.mount_point);
  if (r.auth) out["auth"] = auth_json(*r.auth, s, o);
  if (!r.lease_id.empty()) out["secret"] = {{"lease_id", r.lease_id}};
  const bool elide = o.elide_list_responses && in.request.operation == "list";
  if (has_data(r.data)) out["data"] = data_json(r.data, s, o, elide);
  put(out, "warnings", r.warnings);
  if (r.wrap_info) out["wrap_info"] = wrap_json(*r.wrap_info, s, o);
  return out;
}

json common(const log_input& in, const salt& s, const format_options& o, time_point now, const char* type) {
  json out = {{"time", format_rfc3339_nano(now)},
              {"type", type},
              {"auth", auth_json(in.auth, s, o)},
              {"request", request_json(in.request, s, o)}};
  put(out, "error", in.error);
  return out;
}

}  // namespace

json request_entry(const log_input& in, const salt& s, const format_options& o, time_point now) {
  return common(in, s, o, now, "request");
}

json response_entry(const log_input& in, const salt& s, const format_options& o, time_point now) {
  json out = common(in, s, o, now, "response");
  if (in.response) {
    out["response"] = response_json(in, s, o);
  } else {
    out["response"] = json::object();
    put(out["response"], "mount_type", in.request.mount_type);
    put(out["response"], "mount_point", in.request.mount_point);
  }
  return out;
}

std::string render_line(const json& entry, const format_options& o) {
  std::string line = o.prefix;
  if (o.format == format_kind::jsonx) {
    line += to_jsonx(entry);
  } else {
    line += entry.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  line += '\n';
  return line;
}

}  // namespace credbroker::audit
