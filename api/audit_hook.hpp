#pragma once
// audit_trail: the API side of auditing. It turns a request and its reply into the audit
// component's records (broker/audit/record.hpp) and applies Vault's rules around the handler
// (vault/request_handling.go), for one request in service::handle:
//
//   not audited        what fails before routing (bad verb, bad JSON, 503 while sealed) and the
//                      routes served while sealed (sys/health, sys/seal-status, sys/init,
//                      sys/unseal), which Vault answers outside its audited request path;
//   refused()          a request refused by authentication or the ACL: the request entry and the
//                      response entry, both with the error; only a response entry no device
//                      recorded changes the answer (500 "internal error");
//   record_request()   after authentication and the ACL, before the handler: false when no device
//                      recorded it, and the API answers 500 without running the handler;
//   record_response()  after the handler: the reply to send, or 500 "internal error" instead when
//                      no device recorded the response entry.
// With no device enabled every step is one atomic load and nothing is copied.
// The request is read when an entry is made: make the trail before authentication, use it after.
// Thread: one per request, on the request's thread.
#include <optional>

#include "api/message.hpp"
#include "api/router.hpp"
#include "broker/audit/audit_broker.hpp"

namespace credbroker::api {

class audit_trail {
 public:
  // broker may be null (no auditing: tests, and the routes served while sealed). Whether devices
  // are enabled is asked at each step, so the response to the request that enabled the first
  // device is that device's first entry, as in Vault.
  audit_trail(audit::audit_broker* broker, const raw_request& raw, const request& req, const router::match& m)
      : broker_(broker), raw_(raw), req_(req), m_(m) {}

  reply refused(reply r);
  bool record_request();
  reply record_response(reply r);

 private:
  bool active() const { return broker_ != nullptr && broker_->enabled(); }
  audit::log_input& input(bool allowed);

  audit::audit_broker* broker_;
  const raw_request& raw_;
  const request& req_;
  const router::match& m_;
  std::optional<audit::log_input> in_;  // made once, at the first entry
};

// The records (exposed for tests).
audit::auth_record caller_record(const request& req, bool allowed);
audit::response_record response_record(const reply& r);

}  // namespace credbroker::api
