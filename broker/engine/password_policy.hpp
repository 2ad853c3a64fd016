#pragma once
// Password policies as Vault's sys/policies/password, and the default generator.
//
//   length = 20
//   rule "charset" {
//     charset   = "abcdefghijklmnopqrstuvwxyz"
//     min-chars = 1
//   }
//
// The charsets of all rules are unioned (de-duplicated, at most 256 characters); a password is
// `length` characters drawn uniformly (OpenSSL RNG, rejection sampling for uniformity) from the
// union, redrawn until every rule's min-chars is met (at most 10,000 tries, then an error).
// Default (no policy): 20 characters from [a-z][A-Z][0-9]-, at least one of each class.
// Invariant: a policy that parses can generate (parse() test-generates once, as Vault does).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/result.hpp"
#include "broker/core/secret.hpp"
#include "broker/storage/physical.hpp"

namespace credbroker::engine {

struct password_policy {
  int length = 0;
  struct rule {
    std::string charset;
    int min_chars = 0;
  };
  std::vector<rule> rules;
  std::string charset;  // the union
};

// Errors name the line and column: "line 3, column 15: min-chars must be a non-negative integer".
result<password_policy> parse_password_policy(std::string_view text);
result<secret> generate_password(const password_policy& p);
password_policy default_password_policy();

// sys/policies/password/<name>, stored at sys/password_policy/<name>. Thread-safe.
class password_policies {
 public:
  // Parsed policies are cached (every write goes through here; a read that raced a write is not kept).
  explicit password_policies(storage::physical& store) : store_(store) {}
  status put(const std::string& name, std::string_view text);
  result<std::optional<std::string>> get_text(const std::string& name);
  status remove(const std::string& name);
  result<std::vector<std::string>> list();
  // The named policy's password; "" -> the default generator. Unknown name -> invalid_request
  // "password policy \"x\" does not exist".
  result<secret> generate(const std::string& name);

 private:
  storage::physical& store_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const password_policy>> parsed_;
  std::uint64_t generation_ = 0;
};

}  // namespace credbroker::engine
