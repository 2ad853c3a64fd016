#pragma once
// The node state most API tests run in: initialised and unsealed.
#include "broker/core/node_status.hpp"

namespace credbroker::test {

inline seal_snapshot unsealed() {
  seal_snapshot s;
  s.initialized = true;
  s.sealed = false;
  return s;
}

}  // namespace credbroker::test
