// libFuzzer target: the HCL parser and the policy interpreter on arbitrary bytes.
// Invariants checked: no crash, no hang, no sanitizer report; a document that parses as a policy
// compiles to an ACL that answers every question without crashing, and parsing is deterministic.
// Build and run: scripts/fuzz.sh [seconds]   (clang's -fsanitize=fuzzer,address,undefined)
// The unit tests replay the seed corpus and random mutations through the same function
// (fuzz_hcl_one); LLVMFuzzerTestOneInput exists only in the libFuzzer build (CREDBROKER_LIBFUZZER).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "broker/auth/policy.hpp"
#include "broker/core/hcl.hpp"

#include "fuzz/fuzz_targets.hpp"

int credbroker::fuzz::fuzz_hcl_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = hcl::parse(text);
  auto again = hcl::parse(text);
  if (doc.ok() != again.ok()) std::abort();
  if (!doc && doc.err().message != again.err().message) std::abort();
  auto p = auth::parse_policy("fuzz", text);
  if (p) {
    const auth::acl a({std::make_shared<const auth::policy>(*p)});
    for (const auto& r : p->rules) {
      (void)a.check(auth::acl_operation::read, r.path);
      (void)a.check(auth::acl_operation::list, r.path + "/");
      (void)a.capabilities(r.path + "x/y");
    }
    (void)a.check(auth::acl_operation::update, "");
  }
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_hcl_one(data, size);
}
#endif
