// The storage conformance kit (tests/support/storage_conformance.*) on the embedded backends:
// in-memory, SQLite, and the barrier over each. PostgreSQL runs the same kit in
// tests/integration/storage/postgresql_backend_test.cpp.
#include <filesystem>

#include "broker/core/random.hpp"
#include "broker/storage/inmem_backend.hpp"
#include "broker/storage/sqlite_backend.hpp"
#include "tests/support/storage_conformance.hpp"

using namespace credbroker;
using namespace credbroker::storage;

namespace {

class inmem_under_test : public test::storage_under_test {
 public:
  physical& store() override { return b_; }

 private:
  inmem_backend b_;
};

class sqlite_under_test : public test::storage_under_test {
 public:
  sqlite_under_test() : dir_(std::filesystem::temp_directory_path() / ("credbroker-test-" + random_alnum(12))) {
    sqlite_options o;
    o.path = (dir_ / "credbroker.db").string();
    auto opened = sqlite_backend::open(o);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().message);
    if (opened) b_ = std::move(*opened);
  }
  ~sqlite_under_test() override {
    b_.reset();
    std::filesystem::remove_all(dir_);
  }
  physical& store() override { return *b_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<sqlite_backend> b_;
};

std::vector<test::named_storage> backends() {
  const test::named_storage inmem{"inmem", [] { return std::make_unique<inmem_under_test>(); }};
  const test::named_storage sqlite{"sqlite", [] { return std::make_unique<sqlite_under_test>(); }};
  return {inmem, sqlite, test::with_barrier(inmem), test::with_barrier(sqlite)};
}

}  // namespace

namespace credbroker::test {
INSTANTIATE_TEST_SUITE_P(backends, storage_conformance, ::testing::ValuesIn(backends()), storage_name);
}  // namespace credbroker::test
