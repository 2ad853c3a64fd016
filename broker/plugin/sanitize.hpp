#pragma once
// Scrubs secrets out of driver error text before it crosses the plugin boundary
// (Vault: DatabaseErrorSanitizerMiddleware). Each secret is replaced in its raw form and in the
// percent-encoded form it takes inside a connection URL.
#include <string>
#include <vector>

#include "broker/core/secret.hpp"

namespace credbroker::plugin {

std::string sanitize(std::string text, const std::vector<const secret*>& secrets);

// RFC 3986 percent-encoding of everything but unreserved characters (for URL userinfo).
std::string percent_encode(std::string_view raw);

}  // namespace credbroker::plugin
