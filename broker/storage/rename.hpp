#pragma once
// rename: moving keys to new names, for upgrades of a store's layout (e.g. salting the accessors
// that index keys were named after).
//
//   rename_children(s, "auth/token/accessor/", f)
//     for every child c of the folder, f(c) is its new name, or nullopt to keep it:
//       a leaf    prefix + c             -> prefix + f(c)
//       a folder  prefix + c + "/" + r   -> prefix + f(c) + "/" + r   (every key below it, any depth)
//     Example: keys t/ab/1, t/ab/2, t/cd  with f(x) = "h(" + x + ")"
//              -> t/h(ab)/1, t/h(ab)/2, t/h(cd)
//
// Values move unchanged, read and written through the given store (so a barrier re-encrypts each
// value under its new key). Each batch of at most `batch` keys moves atomically (put the new
// names, remove the old). A crash between batches leaves some keys under the old name and some
// under the new; running it again moves the rest, so f must return nullopt for every name it
// produces. A value the store cannot read (errc::integrity_failure) stays where it is and is
// logged; other errors stop the move and are returned.
// Thread: the caller keeps other writers out of these folders while it runs (unseal does).
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "broker/storage/physical.hpp"

namespace credbroker::storage {

using rename_fn = std::function<result<std::optional<std::string>>(std::string_view name)>;

status rename_children(physical& s, const std::string& prefix, const rename_fn& rename, std::size_t batch = 512);

// Every key under `from` moves to `to` + the rest of its name (both end in '/'), as above.
status move_folder(physical& s, const std::string& from, const std::string& to, std::size_t batch = 512);

}  // namespace credbroker::storage
