// Replays the fuzz targets' seed corpora and deterministic random mutations of them through the
// very functions libFuzzer drives (fuzz/*.cpp), so every CI run exercises them without clang.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.hpp"

namespace {

std::vector<std::string> corpus(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(CREDBROKER_SOURCE_DIR) + "/fuzz/corpus/" + name)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

using target_fn = int (*)(const std::uint8_t*, std::size_t);

// Runs every seed, then `mutations` deterministic random edits of them; returns how many inputs ran.
std::size_t replay(const std::string& name, target_fn target, const std::string& alphabet, int mutations) {
  auto seeds = corpus(name);
  EXPECT_GE(seeds.size(), 4u) << name;
  if (seeds.empty()) return 0;
  std::mt19937_64 rng(20261123);
  std::size_t runs = 0;
  for (const auto& s : seeds) {
    target(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  for (int i = 0; i < mutations; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 4) {
        case 0: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < s.size()) s.erase(at, 1 + rng() % 4); break;
        case 2: if (at < s.size()) s[at] = static_cast<char>(rng() % 256); break;
        case 3: s.insert(at, s.substr(rng() % (s.size() + 1), rng() % 16)); break;
      }
    }
    target(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  return runs;
}

TEST(fuzz_replay, hcl_corpus_and_200k_mutations) {
  const auto runs = replay("hcl", credbroker::fuzz::fuzz_hcl_one, "\"{}[]=,#/*\\\n +-.0123456789abcdeflnprstu", 200'000);
  EXPECT_EQ(runs, corpus("hcl").size() + 200'000);  // every input returned (none crashed or aborted)
}

TEST(fuzz_replay, cron_corpus_and_100k_mutations) {
  const auto runs = replay("cron", credbroker::fuzz::fuzz_cron_one, "0123456789*/,-? JANFEBMONSUNjansun\t", 100'000);
  EXPECT_EQ(runs, corpus("cron").size() + 100'000);
}

TEST(fuzz_replay, username_template_corpus_and_100k_mutations) {
  const auto runs = replay("username_template", credbroker::fuzz::fuzz_username_template_one,
                           "{}()|.-\"`$ 0123456789RoleNameDisplay_truncatesha256randomprintf%sdqvupperlowerreplace", 100'000);
  EXPECT_EQ(runs, corpus("username_template").size() + 100'000);
}

TEST(fuzz_replay, postgres_statements_corpus_and_100k_mutations) {
  const auto runs = replay("postgres_statements", credbroker::fuzz::fuzz_postgres_statements_one,
                           std::string("'\"$;-/*\\\nEe{}namepasswordDO AS$$p$ ") + std::string(1, '\0'), 100'000);
  EXPECT_EQ(runs, corpus("postgres_statements").size() + 100'000);
}

TEST(fuzz_replay, redis_acl_rules_corpus_and_100k_mutations) {
  const auto runs = replay("redis_acl_rules", credbroker::fuzz::fuzz_redis_acl_rules_one,
                           "[]\",\\u0~*+-@&%:=\n idnamecredbroker0123456789", 100'000);
  EXPECT_EQ(runs, corpus("redis_acl_rules").size() + 100'000);
}

TEST(fuzz_replay, http_request_corpus_and_100k_mutations) {
  const auto runs = replay("http_request", credbroker::fuzz::fuzz_http_request_one,
                           "\r\n :/?&=%0123456789abcdefGETPOSTLISTHEADv1syshealthfzechoX-Vault-Token"
                           "fuzz-root-tokenContent-LengthTransfer-Encodingchunked{}[]\",",
                           100'000);
  EXPECT_EQ(runs, corpus("http_request").size() + 100'000);
}

TEST(fuzz_replay, fields_corpus_and_100k_mutations) {
  const auto runs = replay("fields", credbroker::fuzz::fuzz_fields_one,
                           "{}[]\",: 0123456789.-+eEtruefalsenullsibdmkvc\\u \t1h30m", 100'000);
  EXPECT_EQ(runs, corpus("fields").size() + 100'000);
}

}  // namespace
