#include "api/message.hpp"

namespace credbroker::api {

const std::string* raw_request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

const char* to_string(operation op) {
  switch (op) {
    case operation::read: return "read";
    case operation::list: return "list";
    case operation::create: return "create";
    case operation::update: return "update";
    case operation::remove: return "delete";
    case operation::head: return "head";
    case operation::patch: return "patch";
  }
  return "unknown";
}

reply reply::with_data(nlohmann::json data) {
  reply r;
  r.k = kind::envelope;
  r.data = std::move(data);
  return r;
}

reply reply::empty() { return reply{}; }

reply reply::raw(int status, nlohmann::json body) {
  reply r;
  r.k = kind::raw;
  r.status = status;
  r.data = std::move(body);
  return r;
}

reply reply::raw_status(int status) {
  reply r;
  r.k = kind::raw;
  r.status = status;
  r.data = nullptr;
  return r;
}

reply reply::raw_text(int status, std::string content_type, std::string body) {
  reply r;
  r.k = kind::raw;
  r.status = status;
  r.data = nullptr;
  r.content_type = std::move(content_type);
  r.text = std::move(body);
  return r;
}

reply reply::fail(int status, std::string message) {
  return fail(status, std::vector<std::string>{std::move(message)});
}

reply reply::fail(int status, std::vector<std::string> messages) {
  reply r;
  r.k = kind::error;
  r.status = status;
  r.errors = std::move(messages);
  return r;
}

reply reply::fail(const error& e) {
  const int status = http_status(e.code);
  if (status >= 500 && status != 503) return fail(status, multierror_text(e.message));
  return fail(status, e.message);
}

reply reply::not_found() { return fail(404, std::vector<std::string>{}); }

int http_status(const std::error_code& code) {
  if (code.category() != credbroker_category()) return 500;
  switch (static_cast<errc>(code.value())) {
    case errc::ok: return 200;
    case errc::invalid_request: return 400;
    case errc::not_initialized: return 400;
    case errc::permission_denied: return 403;
    case errc::not_found: return 404;
    case errc::unsupported_path: return 404;
    case errc::unsupported_operation: return 405;
    case errc::sealed: return 503;
    case errc::unavailable: return 500;
    case errc::storage_failure:
    case errc::integrity_failure:
    case errc::internal: return 500;
    case errc::role_not_allowed: return 500;  // Vault's database backend answers a plain error
    case errc::lease_not_found: return 400;   // Vault: renew and lookup answer 400
  }
  return 500;
}

std::string multierror_text(const std::string& message) {
  return "1 error occurred:\n\t* " + message + "\n\n";
}

}  // namespace credbroker::api
