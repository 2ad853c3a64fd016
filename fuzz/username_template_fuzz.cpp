// libFuzzer target: the username template evaluator (broker/plugin/username_template) on arbitrary
// bytes. The first byte picks the metadata; the rest is the template.
// Invariants checked: no crash, no hang, no sanitizer report; rendering with a fixed environment is
// deterministic; output never exceeds the 64 KiB bound; errors start with "template: " and never
// contain the metadata (they are shown to callers who did not write it); validate_template agrees
// with rendering on empty metadata in the same fixed environment (validation_env).
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/username_template.
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/plugin/username_template.hpp"
#include "fuzz/fuzz_targets.hpp"

int credbroker::fuzz::fuzz_username_template_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view tmpl(reinterpret_cast<const char*>(data + 1), size - 1);
  const plugin::template_env& fixed = plugin::validation_env();
  // Metadata that a caller controls (a token's display name) and that must never leak into errors.
  const plugin::template_data meta = (data[0] & 1) != 0 ? plugin::template_data{"ZZdisplayZZ", "ZZroleZZ"}
                                                        : plugin::template_data{"", ""};
  auto a = plugin::render_template(tmpl, meta, fixed);
  auto b = plugin::render_template(tmpl, meta, fixed);
  if (a.ok() != b.ok()) std::abort();
  if (a) {
    if (*a != *b || a->size() > 64 * 1024) std::abort();
  } else {
    const std::string& m = a.err().message;
    if (m != b.err().message || m.rfind("template: ", 0) != 0) std::abort();
    if (!meta.role_name.empty() && tmpl.find("ZZ") == std::string_view::npos &&
        (m.find("ZZdisplayZZ") != std::string::npos || m.find("ZZroleZZ") != std::string::npos)) {
      std::abort();
    }
  }
  if (meta.role_name.empty()) {
    const bool valid = plugin::validate_template(tmpl).ok();
    // Validation renders in validation_env too, so chance never decides validity.
    if (valid != a.ok()) std::abort();
  }
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_username_template_one(data, size);
}
#endif
