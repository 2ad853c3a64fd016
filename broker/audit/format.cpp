#include "broker/audit/format.hpp"

#include <charconv>
#include <ctime>

#include "broker/audit/json_text.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::audit {
namespace {

using nlohmann::json;

// Go's time.Unix(t).Format(time.RFC3339) in UTC: "2026-01-02T03:04:05Z".
std::string rfc3339_seconds(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// Writes one JSON object member by member, leaving out empty values as Go's omitempty does.
class object_writer {
 public:
  explicit object_writer(std::string& out) : out_(out) { out_ += '{'; }
  std::string& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    append_quoted(out_, k);
    out_ += ':';
    return out_;
  }
  void text(std::string_view k, std::string_view v) {
    if (!v.empty()) append_quoted(key(k), v);
  }
  void number(std::string_view k, std::int64_t v) {
    if (v == 0) return;
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    key(k).append(buf, r.ptr);
  }
  void strings(std::string_view k, const std::vector<std::string>& v) {
    if (v.empty()) return;
    std::string& out = key(k);
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ',';
      append_quoted(out, v[i]);
    }
    out += ']';
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

std::string token_hash(const secret& token, const salt& s) { return token.empty() ? "" : s.hmac(token.reveal()); }

std::string accessor_text(const std::string& accessor, const salt& s, const format_options& o) {
  if (accessor.empty()) return "";
  return o.hmac_accessor ? s.hmac(accessor) : accessor;
}

bool has_data(const json& data) { return data.is_object() ? !data.empty() : !data.is_null(); }

// The hashed token and accessor of the caller, made once per entry (the request block repeats them).
struct caller_hashes {
  std::string token;
  std::string accessor;
};

void append_auth(std::string& out, const auth_record& a, const caller_hashes& h) {
  object_writer w(out);
  w.text("client_token", h.token);
  w.text("accessor", h.accessor);
  w.text("display_name", a.display_name);
  w.strings("policies", a.policies);
  w.strings("token_policies", a.token_policies);
  if (!a.metadata.empty()) {
    object_writer m(w.key("metadata"));
    for (const auto& [k, v] : a.metadata) append_quoted(m.key(k), v);
    m.close();
  }
  w.number("num_uses", a.num_uses);
  w.text("token_type", a.token_type.empty() ? "default" : a.token_type);
  w.number("token_ttl", a.token_ttl);
  if (a.token_issue_time != 0) w.text("token_issue_time", rfc3339_seconds(a.token_issue_time));
  if (a.policy_allowed) w.key("policy_results") += *a.policy_allowed ? "{\"allowed\":true}" : "{\"allowed\":false}";
  w.close();
}

caller_hashes hashes_of(const auth_record& a, const salt& s, const format_options& o) {
  return {token_hash(a.client_token, s), accessor_text(a.accessor, s, o)};
}

void append_request(std::string& out, const log_input& in, const caller_hashes& caller, const salt& s,
                    const format_options& o) {
  const request_record& r = in.request;
  object_writer w(out);
  w.text("id", r.id);
  w.text("operation", r.operation);
  w.text("mount_type", r.mount_type);
  w.text("mount_point", r.mount_point);
  // The caller's own token and accessor: the hashes of the auth block, not computed twice.
  const bool same_token = !r.client_token.empty() && r.client_token == in.auth.client_token;
  w.text("client_token", same_token ? caller.token : token_hash(r.client_token, s));
  const bool same_accessor = !r.client_token_accessor.empty() && r.client_token_accessor == in.auth.accessor;
  w.text("client_token_accessor", same_accessor ? caller.accessor : accessor_text(r.client_token_accessor, s, o));
  w.key("namespace") += "{\"id\":\"root\"}";
  w.text("path", r.path);
  if (has_data(r.data)) append_hashed(w.key("data"), r.data, s, !o.log_raw, false);
  w.text("remote_address", r.remote_address);
  w.number("remote_port", r.remote_port);
  w.close();
}

void append_wrap_info(std::string& out, const wrap_record& wi, const salt& s, const format_options& o) {
  object_writer w(out);
  w.text("token", token_hash(wi.token, s));
  w.text("accessor", accessor_text(wi.accessor, s, o));
  w.number("ttl", wi.ttl);
  w.text("creation_time", format_rfc3339_nano(wi.creation_time));
  w.text("creation_path", wi.creation_path);
  w.text("wrapped_accessor", accessor_text(wi.wrapped_accessor, s, o));
  w.close();
}

void append_response(std::string& out, const log_input& in, const salt& s, const format_options& o) {
  object_writer w(out);
  w.text("mount_type", in.request.mount_type);
  w.text("mount_point", in.request.mount_point);
  if (in.response) {
    const response_record& r = *in.response;
    if (r.auth) append_auth(w.key("auth"), *r.auth, hashes_of(*r.auth, s, o));
    if (!r.lease_id.empty()) {
      object_writer secret_block(w.key("secret"));
      secret_block.text("lease_id", r.lease_id);
      secret_block.close();
    }
    const bool elide = o.elide_list_responses && in.request.operation == "list";
    if (has_data(r.data)) append_hashed(w.key("data"), r.data, s, !o.log_raw, elide);
    w.strings("warnings", r.warnings);
    if (r.wrap_info) append_wrap_info(w.key("wrap_info"), *r.wrap_info, s, o);
  }
  w.close();
}

void append_entry(std::string& out, const log_input& in, const salt& s, const format_options& o, time_point now,
                  bool response) {
  const caller_hashes caller = hashes_of(in.auth, s, o);
  object_writer w(out);
  w.text("time", format_rfc3339_nano(now));
  w.text("type", response ? "response" : "request");
  append_auth(w.key("auth"), in.auth, caller);
  append_request(w.key("request"), in, caller, s, o);
  if (response) append_response(w.key("response"), in, s, o);
  w.text("error", in.error);
  w.close();
}

std::string line(const log_input& in, const salt& s, const format_options& o, time_point now, bool response) {
  std::string out;
  out.reserve(o.prefix.size() + 1536);
  out += o.prefix;
  if (o.format == format_kind::jsonx) {
    std::string entry;
    append_entry(entry, in, s, o, now, response);
    out += to_jsonx(json::parse(entry));
  } else {
    append_entry(out, in, s, o, now, response);
  }
  out += '\n';
  return out;
}

}  // namespace

std::string request_line(const log_input& in, const salt& s, const format_options& o, time_point now) {
  return line(in, s, o, now, false);
}

std::string response_line(const log_input& in, const salt& s, const format_options& o, time_point now) {
  return line(in, s, o, now, true);
}

}  // namespace credbroker::audit
