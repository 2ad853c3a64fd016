#pragma once
// The fuzz targets' bodies, one function per target (fuzz/*_fuzz.cpp). libFuzzer builds wrap each in
// LLVMFuzzerTestOneInput (CREDBROKER_LIBFUZZER); the unit tests call them directly to replay the seed
// corpora and random mutations (tests/unit/fuzz/replay_test.cpp). Each returns 0 and aborts on a
// broken invariant.
#include <cstddef>
#include <cstdint>

namespace credbroker::fuzz {

int fuzz_hcl_one(const std::uint8_t* data, std::size_t size);
int fuzz_username_template_one(const std::uint8_t* data, std::size_t size);
int fuzz_cron_one(const std::uint8_t* data, std::size_t size);
int fuzz_postgres_statements_one(const std::uint8_t* data, std::size_t size);
int fuzz_redis_acl_rules_one(const std::uint8_t* data, std::size_t size);
int fuzz_http_request_one(const std::uint8_t* data, std::size_t size);
int fuzz_fields_one(const std::uint8_t* data, std::size_t size);

}  // namespace credbroker::fuzz
