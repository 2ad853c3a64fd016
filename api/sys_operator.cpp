// What the operator endpoints share (sys_routes.hpp): struct_body, request bodies read the way Go's
// encoding/json fills a struct; operator_failure, the status codes of Vault's handlers for them; and
// read_key_and_nonce, the body of an update.
#include <algorithm>
#include <cctype>

#include "api/sys_routes.hpp"

namespace credbroker::api {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string go_type(const nlohmann::json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  if (v.is_number()) return "number";
  if (v.is_array()) return "array";
  return "object";
}

error mismatch(const nlohmann::json& v, const std::string& field, const std::string& type) {
  return make_error(errc::invalid_request,
                    "json: cannot unmarshal " + go_type(v) + " into Go struct field ." + field + " of type " + type);
}

}  // namespace

struct_body::struct_body(const nlohmann::json& body) : body_(body.is_object() ? body : nlohmann::json::object()) {}

const nlohmann::json* struct_body::find(const std::string& field) const {
  // An exact match wins, else the first case-insensitive one (encoding/json's rule).
  if (auto it = body_.find(field); it != body_.end()) return it->is_null() ? nullptr : &*it;
  for (auto it = body_.begin(); it != body_.end(); ++it) {
    if (same_name(it.key(), field)) return it->is_null() ? nullptr : &*it;
  }
  return nullptr;
}

result<std::string> struct_body::string(const std::string& field) const {
  const nlohmann::json* v = find(field);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return mismatch(*v, field, "string");
  return v->get<std::string>();
}

result<std::int64_t> struct_body::integer(const std::string& field) const {
  const nlohmann::json* v = find(field);
  if (v == nullptr) return std::int64_t{0};
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  return mismatch(*v, field, "int");
}

result<bool> struct_body::boolean(const std::string& field) const {
  const nlohmann::json* v = find(field);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return mismatch(*v, field, "bool");
  return v->get<bool>();
}

result<std::vector<std::string>> struct_body::strings(const std::string& field) const {
  const nlohmann::json* v = find(field);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (!v->is_array()) return mismatch(*v, field, "[]string");
  for (const auto& item : *v) {
    if (!item.is_string()) return mismatch(item, field, "string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

reply operator_failure(const error& e) {
  if (e.code == make_error_code(errc::sealed)) return reply::fail(503, e.message);
  if (e.code == make_error_code(errc::invalid_request) || e.code == make_error_code(errc::not_initialized) ||
      e.code == make_error_code(errc::permission_denied)) {
    return reply::fail(400, e.message);
  }
  return reply::fail(500, e.message);
}

reply operator_status_failure(const error& e) {
  if (e.code == make_error_code(errc::not_initialized)) return reply::fail(400, "server is not yet initialized");
  return operator_failure(e);
}

result<key_and_nonce> read_key_and_nonce(const request& req) {
  const struct_body body(req.body);
  auto key = body.string("key");
  if (!key) return std::move(key).err();
  auto nonce = body.string("nonce");
  if (!nonce) return std::move(nonce).err();
  if (key->empty()) return make_error(errc::invalid_request, "'key' must be specified in request body as JSON");
  auto raw = barrier::decode_key(*key);
  std::fill(key->begin(), key->end(), '\0');
  if (!raw) return make_error(errc::invalid_request, "'key' must be a valid hex or base64 string");
  return key_and_nonce{secret(std::move(*raw)), std::move(*nonce)};
}

}  // namespace credbroker::api
