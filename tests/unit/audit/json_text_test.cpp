// json_text against nlohmann's dump() with error_handler_t::replace, its oracle: fixed cases
// (escapes, controls, DEL, UTF-8, invalid UTF-8) and random strings and documents.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "broker/audit/json_text.hpp"

using credbroker::audit::append_json;
using credbroker::audit::append_quoted;
using nlohmann::json;

namespace {

std::string oracle(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string quoted_text(std::string_view s) {
  std::string out = "prefix:";
  append_quoted(out, s);
  return out.substr(7);
}

TEST(audit_json_text, strings_are_escaped_as_nlohmann_escapes_them) {
  for (const std::string& s : {std::string(""), std::string("plain"), std::string("q\"b\\s/"), std::string("\b\f\n\r\t"),
                              std::string("\x01\x1f\x7f", 3), std::string("\0", 1), std::string("h\xc3\xa9llo \xe2\x82\xac"),
                              std::string("\xf0\x9f\x94\x91 key"), std::string("bad \xff byte"), std::string("cut \xe2\x82"),
                              std::string("\xc0\xaf overlong"), std::string("\xed\xa0\x80 surrogate"),
                              std::string("\xe2\x82 then ok \xe2\x82\xac")}) {
    SCOPED_TRACE(oracle(json(s)));
    EXPECT_EQ(quoted_text(s), oracle(json(s)));
  }
}

TEST(audit_json_text, random_strings_match_the_oracle) {
  std::mt19937 rng(20261201);
  const std::string alphabet = std::string("aZ09 \"\\/\b\n\x01\x1f\x7f", 15) + "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xff\x80\xc0";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 24, ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(quoted_text(s), oracle(json(s))) << i;
  }
}

TEST(audit_json_text, documents_match_the_oracle) {
  std::mt19937 rng(7);
  std::function<json(int)> make = [&](int depth) -> json {
    switch (depth > 3 ? rng() % 5 : rng() % 7) {
      case 0: return nullptr;
      case 1: return rng() % 2 == 0;
      case 2: return static_cast<std::int64_t>(rng()) - (1LL << 31);
      case 3: return std::uint64_t{18446744073709551615u} - rng();
      case 4: return std::string(rng() % 5, "ab\"\xc3\xa9\n"[rng() % 6]);
      case 5: {
        json a = json::array();
        for (unsigned n = rng() % 4; n > 0; --n) a.push_back(make(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (unsigned n = rng() % 4; n > 0; --n) o[std::string(1, static_cast<char>('a' + rng() % 26))] = make(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    const json doc = make(0);
    std::string out;
    append_json(out, doc);
    ASSERT_EQ(out, oracle(doc)) << i;
  }
  std::string f;
  append_json(f, json(1.5));
  EXPECT_EQ(f, "1.5");
}

}  // namespace
