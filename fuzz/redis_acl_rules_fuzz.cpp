// libFuzzer target: the Redis plugin's parsers (plugins/redis/parsers) on arbitrary bytes: the ACL
// rules of a role's creation statement, and CLIENT LIST replies. The first byte picks which.
// Invariants checked: no crash, no hang, no sanitizer report; parsing is deterministic; the rules
// are exactly the JSON array's strings, in order (nlohmann's own reading as the oracle), and every
// error carries Vault's prefix; every client id found is digits, and each comes from a line whose
// name field is exactly the name asked for.
// Build and run: scripts/fuzz.sh [seconds]. The unit tests replay fuzz/corpus/redis_acl_rules.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_targets.hpp"
#include "plugins/redis/parsers.hpp"

namespace {

using namespace credbroker::plugins::redis;

void rules(const std::string& text) {
  const std::vector<std::string> statements{text};
  auto a = parse_acl_rules(statements);
  auto b = parse_acl_rules(statements);
  if (a.ok() != b.ok()) std::abort();
  if (text.empty()) {
    if (!a || *a != std::vector<std::string>{"~*", "+@read"}) std::abort();
    return;
  }
  const auto j = nlohmann::json::parse(text, nullptr, false);
  bool strings = j.is_array();
  if (strings) {
    for (const auto& e : j) strings = strings && e.is_string();
  }
  if (a.ok() != strings) std::abort();
  if (!a) {
    if (a.err().message.rfind("error unmarshalling REDIS rules in the creation statement JSON: ", 0) != 0) std::abort();
    return;
  }
  if (*a != *b || a->size() != j.size()) std::abort();
  for (std::size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i] != j[i].get<std::string>()) std::abort();
  }
}

void client_list(std::string_view text) {
  // The name to look for: the first line's first field value if any, else a fixed one.
  std::string name = "credbroker:k3J9xQ0aZ7mT2pLb";
  if (auto eq = text.find('='); eq != std::string_view::npos && eq < 64) {
    const auto end = text.find_first_of(" \n", eq);
    name = std::string(text.substr(eq + 1, end == std::string_view::npos ? std::string_view::npos : end - eq - 1));
  }
  const auto ids = client_ids_named(text, name);
  if (ids != client_ids_named(text, name)) std::abort();
  for (const auto& id : ids) {
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) std::abort();
    // Some line has exactly this id and this name.
    bool found = false;
    std::string_view rest = text;
    while (!found && !rest.empty()) {
      const auto nl = rest.find('\n');
      std::string line(rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      line = " " + line + " ";
      found = line.find(" id=" + id + " ") != std::string::npos && line.find(" name=" + name + " ") != std::string::npos;
    }
    if (!found) std::abort();
  }
}

}  // namespace

int credbroker::fuzz::fuzz_redis_acl_rules_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) rules(text);
  else client_list(text);
  return 0;
}

#ifdef CREDBROKER_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return credbroker::fuzz::fuzz_redis_acl_rules_one(data, size);
}
#endif
