#pragma once
// boot_id: the id of this broker process's start, 16 random alphanumerics made once per process.
//
// Every database session the broker opens carries it (PostgreSQL: application_name
// "credbroker:<boot id>"; Redis: CLIENT SETNAME), and every pending lease records the boot that
// wrote it. After a crash, the next process ends the dead boot's sessions
// (database_plugin::end_sessions) before it settles that boot's pending leases, so no creation
// transaction of the dead process can commit after user_exists said "absent". Sessions of other
// boots (this process's own, another live broker's) are never touched.
//
//   boot_id()            -> "k3J9xQ0aZ7mT2pLb" (the same for the whole process)
//   session_tag("k3J9")  -> "credbroker:k3J9"
//   session_tag("")      -> "credbroker" (what versions before boot ids named their sessions)
#include <string>
#include <string_view>

namespace credbroker::plugin {

const std::string& boot_id();

std::string session_tag(std::string_view boot);

}  // namespace credbroker::plugin
