#pragma once
#include <string>
#include <vector>

namespace credbroker {

// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
int server_command(const std::vector<std::string>& args);
extern const char* const server_help;

}  // namespace credbroker
