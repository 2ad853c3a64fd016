#pragma once
// Process-wide logging on spdlog: text ("standard") or JSON lines, to stderr.
// Never log a request body, a token or a password: values of type secret print "[redacted]".
#include <string>

#include "broker/core/result.hpp"

namespace credbroker {

enum class log_format { standard, json };

// level: trace, debug, info, warn, error, off. Error text names the accepted values.
status configure_logging(const std::string& level, log_format format);

}  // namespace credbroker
