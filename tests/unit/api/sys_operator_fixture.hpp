#pragma once
// The API pipeline the operator endpoint tests (sys/generate-root, sys/rekey) run through: a real
// seal manager, barrier and token store (with its auth/token routes) over memory, initialised with 5
// shares, threshold 3, unsealed.
#include <gtest/gtest.h>

#include "api/service.hpp"
#include "broker/auth/token_store.hpp"
#include "broker/barrier/seal_manager.hpp"
#include "support/test_store.hpp"

namespace credbroker::test {

class operator_api : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(seal_.load().ok());
    auto [st, init] = call("PUT", "sys/init", {{"secret_shares", 5}, {"secret_threshold", 3}});
    ASSERT_EQ(st, 200) << init.dump();
    root_ = init["root_token"];
    for (const auto& k : init["keys"]) keys_.push_back(k);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(call("PUT", "sys/unseal", {{"key", keys_[static_cast<std::size_t>(i)]}}).first, 200);
  }

  // One request as the HTTP server hands it over; the body verbatim when `raw_body` is set.
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& path,
                                      const nlohmann::json& body = nullptr, const std::string& token = "",
                                      const std::string& raw_body = "") {
    api::raw_request r;
    r.method = method;
    r.target = "/v1/" + path;
    r.body = !raw_body.empty() ? raw_body : body.is_null() ? "" : body.dump();
    if (!token.empty()) r.headers.emplace_back("x-vault-token", token);
    const auto res = svc_.handle(r);
    EXPECT_EQ(res.headers.front().second, "application/json");
    return {res.status, res.body.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(res.body)};
  }

  // Seals (with the root token) when unsealed, and unseals with `keys` until the server opens; true
  // if it did (a failed attempt leaves the server sealed, with no unseal progress).
  bool reopen_with(const std::vector<std::string>& keys) {
    if (!call("GET", "sys/seal-status").second["sealed"].get<bool>()) {
      EXPECT_EQ(call("PUT", "sys/seal", nullptr, root_).first, 204);
    }
    for (const auto& k : keys) {
      auto [st, body] = call("PUT", "sys/unseal", {{"key", k}});
      if (st != 200) {
        call("PUT", "sys/unseal", {{"reset", true}});
        return false;
      }
      if (!body["sealed"].get<bool>()) return true;
    }
    call("PUT", "sys/unseal", {{"reset", true}});
    return false;
  }

  static nlohmann::json errors(const std::string& message) { return {{"errors", {message}}}; }

  test::test_store backend_;
  barrier::barrier barrier_{backend_};
  barrier::seal_manager seal_{backend_, barrier_, "inmem", "test"};
  system_clock clock_;
  auth::token_store tokens_{barrier_, clock_};
  api::seal_services services_{seal_, barrier_, tokens_};
  api::service svc_{api::services{seal_, tokens_, &services_, nullptr, &clock_, nullptr, &tokens_}};
  std::string root_;
  std::vector<std::string> keys_;  // hex
};

}  // namespace credbroker::test
