#pragma once
// The vault CLI's default ("internal") token helper: the token of the last `login` kept in
// $HOME/.vault-token, so other tools that read that file (the vault CLI itself, scripts) share it.
//
//   store:  written to ~/.vault-token.tmp created with mode 0600, then renamed over ~/.vault-token
//           (a crash leaves the old file or the new one, never half a token; the mode is 0600 even
//           if an older file was wider, because the file is always new)
//   read:   the file's contents with surrounding whitespace trimmed; no file (or no $HOME) is no token
//   erase:  the file removed; a missing file is not an error
//
// Thread: not synchronised; the CLI is one thread.
#include <optional>
#include <string>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::cli {

// $HOME/.vault-token; an error when HOME is unset.
result<std::string> token_file_path();

std::optional<secret> read_stored_token();
status store_token(const secret& token);
status erase_stored_token();

}  // namespace credbroker::cli
