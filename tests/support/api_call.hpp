#pragma once
// One request through the whole API pipeline (api::service::handle), as a client sends it: the
// method, "/v1/" + path, the token in X-Vault-Token (none when empty), a JSON body (none when null)
// and any other headers; the answer's status and its body parsed as JSON (null when empty).
// The api unit tests' fixtures call it instead of building raw requests themselves.
// Example: call_api(svc, "PUT", "sys/policy/app", root, {{"policy", hcl}}) -> {204, null}
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "api/service.hpp"

namespace credbroker::test {

struct api_answer {
  int status;
  nlohmann::json body;
};

inline api_answer call_api(const api::service& svc, const std::string& method, const std::string& path,
                           const std::string& token, const nlohmann::json& body = nullptr,
                           std::vector<std::pair<std::string, std::string>> headers = {}, std::string remote = "") {
  api::raw_request r;
  r.method = method;
  r.target = "/v1/" + path;
  r.remote = std::move(remote);
  if (!body.is_null()) r.body = body.dump();
  if (!token.empty()) r.headers.emplace_back("x-vault-token", token);
  for (auto& h : headers) r.headers.push_back(std::move(h));
  const auto res = svc.handle(r);
  return {res.status, res.body.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(res.body)};
}

}  // namespace credbroker::test
