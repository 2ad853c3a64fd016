#pragma once
#include <string>
#include <vector>

namespace credbroker {

// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
int server_command(const std::vector<std::string>& args);
extern const char* const server_help;
// credbroker backup -config FILE BACKUP / credbroker restore -config FILE BACKUP (backup_command.cpp).
int backup_command(const std::vector<std::string>& args);
int restore_command(const std::vector<std::string>& args);

}  // namespace credbroker
