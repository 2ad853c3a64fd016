#pragma once
// Settings of the throwaway servers started by scripts/test-servers.sh. A missing variable is a
// test failure, never a skip: CI always starts the servers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace credbroker::test {

inline std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run scripts/test-servers.sh start and source the env file it names";
    return {};
  }
  return v;
}

}  // namespace credbroker::test
