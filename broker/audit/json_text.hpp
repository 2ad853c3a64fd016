#pragma once
// json_text: appends JSON text to a string — the audit entries' serializer. Its output is exactly
// nlohmann::json::dump() with error_handler_t::replace (no spaces; '"', '\\', \b \f \n \r \t escaped,
// other control characters as \u00xx; invalid UTF-8 replaced by U+FFFD) — checked against it by a
// differential test — but an ASCII string is escaped in one pass without nlohmann's per-byte UTF-8
// state machine, which made serialising half of an entry's cost (strings with other bytes go to
// nlohmann itself).
// Thread: pure functions.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace credbroker::audit {

void append_quoted(std::string& out, std::string_view s);
void append_json(std::string& out, const nlohmann::json& v);

}  // namespace credbroker::audit
