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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

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

TEST(fuzz_replay, hcl_corpus_and_200k_mutations) {
  auto seeds = corpus("hcl");
  ASSERT_GE(seeds.size(), 4u);
  std::mt19937_64 rng(20261123);
  const std::string alphabet = "\"{}[]=,#/*\\\n +-.0123456789abcdeflnprstu";
  std::size_t runs = 0;
  for (const auto& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  for (int i = 0; i < 200'000; ++i) {
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
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  EXPECT_EQ(runs, seeds.size() + 200'000);  // every input returned (none crashed or aborted)
}

}  // namespace
