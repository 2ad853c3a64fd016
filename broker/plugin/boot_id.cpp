#include "broker/plugin/boot_id.hpp"

#include "broker/core/random.hpp"

namespace credbroker::plugin {

const std::string& boot_id() {
  static const std::string id = random_alnum(16);  // thread-safe initialisation, once per process
  return id;
}

std::string session_tag(std::string_view boot) {
  if (boot.empty()) return "credbroker";
  return "credbroker:" + std::string(boot);
}

}  // namespace credbroker::plugin
