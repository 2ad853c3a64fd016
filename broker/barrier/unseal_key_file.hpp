#pragma once
// unseal_key_file: the server's "unseal_key_file" (unattended start on one machine): unseal keys,
// one a line, hex or base64, in a file only its owner may read. The server unseals itself from it at
// start-up (auto_unseal), and a rekey keeps it up to date (seal_manager's rekey protocol), so the
// file always holds keys that open the store:
//
//   <path>         the keys the store needs
//   <path>.rekey   the keys of a rekey in progress: written (0600, fsynced) before the store
//                  switches to the new root key, renamed over <path> after it switched
//
// A crash between the two leaves both files. auto_unseal settles it at the next start:
//   the keys in <path> open the store       -> <path>.rekey is a rekey that never committed: removed
//   they do not, and <path>.rekey exists    -> the rekey committed: its keys unseal, and it is
//                                              renamed over <path>
// Example: a rekey from 5/3 to 3/2 killed after the store switched: <path> holds 3 old keys that no
// longer reconstruct the root key, <path>.rekey the first 2 new ones; the next start unseals with
// those and renames <path>.rekey to <path>.
//
// Errors: errc::invalid_request for a file that cannot be read, is readable by group or others
// (the message says to chmod 600), or holds a line that is not a key; errc::storage_failure for a
// write, rename or fsync that failed (naming the file and the OS error).
// Thread: one caller at a time (start-up, and the rekey commit under the seal manager's lock).
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"

namespace credbroker::barrier {

class seal_manager;

class unseal_key_file {
 public:
  explicit unseal_key_file(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string staged_path() const { return path_ + ".rekey"; }

  // The keys of the file at `path` (trailing spaces and CRs trimmed, empty lines skipped).
  static result<std::vector<secret>> read(const std::string& path);

  // Rekey steps: stage() writes `keys` (hex, one a line) to staged_path(); promote() renames it over
  // path(); discard() removes it. Each is durable (file and directory fsynced) when it returns ok.
  status stage(const std::vector<secret>& keys) const;
  status promote() const;
  status discard() const;
  bool staged() const;

 private:
  std::string path_;
};

// Start-up: unseals `seal` with the keys in the file, settling a rekey a crash interrupted (above).
//   store not initialised, file empty      -> ok (a warning: nothing to unseal yet)
//   store not initialised, file holds keys -> errc::integrity_failure (the store those keys open
//                                             was replaced or emptied), unless fresh_store
//   keys that do not open the store        -> errc::permission_denied naming the file
//   a damaged store (seal_manager::unseal) -> its errc::integrity_failure
status auto_unseal(seal_manager& seal, const unseal_key_file& file, bool fresh_store);

}  // namespace credbroker::barrier
