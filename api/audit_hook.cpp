#include "api/audit_hook.hpp"

namespace credbroker::api {
namespace {

// "127.0.0.1:53412" / "::1:53412" -> address and port.
void split_remote(const std::string& remote, audit::request_record& out) {
  const auto colon = remote.rfind(':');
  if (colon == std::string::npos) {
    out.remote_address = remote;
    return;
  }
  out.remote_address = remote.substr(0, colon);
  const std::string port = remote.substr(colon + 1);
  if (!port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos) {
    out.remote_port = std::stoi(port);
  }
}

std::string error_text(const reply& r) {
  std::string out;
  for (const auto& e : r.errors) out += (out.empty() ? "" : "\n") + e;
  return out;
}

std::vector<std::string> strings_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

reply internal_error() { return reply::fail(500, "internal error"); }

}  // namespace

audit::auth_record caller_record(const request& req, bool allowed) {
  audit::auth_record a;
  a.client_token = req.token;
  a.policy_allowed = allowed;
  if (!req.caller) return a;
  const auth::identity& id = *req.caller;
  a.accessor = id.accessor;
  a.display_name = id.display_name;
  a.policies = id.policies;
  a.token_policies = id.policies;
  a.metadata = id.meta;
  a.token_type = "service";
  a.token_ttl = id.ttl;
  a.token_issue_time = id.issue_time;
  return a;
}

audit::response_record response_record(const reply& r) {
  audit::response_record out;
  if (r.k == reply::kind::raw) {
    out.data = r.data;
    return out;
  }
  if (r.k != reply::kind::envelope) return out;
  out.data = r.data;
  out.lease_id = r.lease_id;
  out.warnings = r.warnings;
  if (r.auth.is_object()) {
    audit::auth_record a;
    a.client_token = secret(r.auth.value("client_token", ""));
    a.accessor = r.auth.value("accessor", "");
    a.display_name = r.auth.value("display_name", "");
    a.policies = strings_of(r.auth.value("policies", nlohmann::json()));
    a.token_policies = strings_of(r.auth.value("token_policies", nlohmann::json()));
    if (const auto meta = r.auth.value("metadata", nlohmann::json()); meta.is_object()) {
      for (auto it = meta.begin(); it != meta.end(); ++it) {
        if (it->is_string()) a.metadata[it.key()] = it->get<std::string>();
      }
    }
    a.token_type = r.auth.value("token_type", "service");
    a.token_ttl = r.auth.value("lease_duration", std::int64_t{0});
    a.num_uses = r.auth.value("num_uses", std::int64_t{0});
    out.auth = std::move(a);
  }
  return out;
}

audit::log_input& audit_trail::input(bool allowed) {
  if (in_) return *in_;
  audit::log_input& in = in_.emplace();
  in.auth = caller_record(req_, allowed);
  audit::request_record& r = in.request;
  r.id = req_.request_id;
  r.operation = to_string(req_.op);
  if (m_.mount) {
    r.mount_type = m_.mount->type;
    r.mount_point = m_.mount->path;
  }
  r.path = req_.path;
  r.data = req_.body;
  split_remote(raw_.remote, r);
  r.client_token = req_.token;
  if (req_.caller) r.client_token_accessor = req_.caller->accessor;
  return in;
}

reply audit_trail::refused(reply r) {
  if (!active()) return r;
  audit::log_input& in = input(false);
  in.error = error_text(r);
  (void)broker_->log_request(in);  // as Vault: a refusal is refused whether or not this is recorded
  in.response = response_record(r);
  if (!broker_->log_response(in)) return internal_error();
  return r;
}

bool audit_trail::record_request() {
  if (!active()) return true;
  return broker_->log_request(input(true)).ok();
}

reply audit_trail::record_response(reply r) {
  if (!active()) return r;
  audit::log_input& in = input(true);
  if (r.k == reply::kind::error) in.error = error_text(r);
  in.response = response_record(r);
  if (!broker_->log_response(in)) return internal_error();
  return r;
}

}  // namespace credbroker::api
