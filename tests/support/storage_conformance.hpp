#pragma once
// The storage conformance kit: one suite of checks every physical backend must pass (the contract
// in broker/storage/physical.hpp), run on each backend by instantiating it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(backends, storage_conformance,
//                            ::testing::ValuesIn(std::vector<test::named_storage>{{"inmem", make_inmem}}),
//                            test::storage_name);
//
// The checks live in storage_conformance.cpp, compiled into each test binary that instantiates
// them: unit_tests (in-memory, SQLite, the barrier over each) and integration_tests (PostgreSQL on
// the real server, bare and under the barrier). Each factory returns a fresh, empty store.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "broker/barrier/barrier.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::test {

// Owns whatever a backend under test needs (files, tables); the destructor cleans up.
class storage_under_test {
 public:
  virtual ~storage_under_test() = default;
  virtual storage::physical& store() = 0;
};

struct named_storage {
  std::string name;
  std::function<std::unique_ptr<storage_under_test>()> make;
};

inline void PrintTo(const named_storage& s, std::ostream* os) { *os << s.name; }
inline std::string storage_name(const ::testing::TestParamInfo<named_storage>& p) { return p.param.name; }

// The same backend under an initialised barrier (every value sealed with AES-256-GCM).
named_storage with_barrier(named_storage base);

class storage_conformance : public ::testing::TestWithParam<named_storage> {
 protected:
  void SetUp() override {
    b_ = GetParam().make();
    ASSERT_NE(b_, nullptr);
  }
  storage::physical& s() { return b_->store(); }
  std::unique_ptr<storage_under_test> b_;
};

}  // namespace credbroker::test
