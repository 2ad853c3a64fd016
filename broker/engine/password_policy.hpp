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
//
// Entropy: a generated password is uniform over S, the strings of `length` characters of the union
// U that meet every rule, so its entropy is log2 |S|. password_entropy_bits gives a lower bound of it,
// the larger of
//   L·log2|U| + log2(1 − Σ_rules P[Binomial(L, |C_r|/|U|) < min_r])   (union bound on the rejections)
//   (L − Σ min_r)·log2|U| + Σ min_r·log2|C_r|                         (the first min_r positions from C_r)
// Both count only passwords the policy can produce, overlapping charsets included. Examples: the
// default policy ≈ 117.5 bits (20·log2 63 ≈ 119.5 less ≈ 2 bits its min-chars rules reject);
// length 20 of [a-z] ≈ 94.0; length 32 of [A-Za-z0-9] ≈ 190.5; length 4 of [0-9] ≈ 13.3.
// Key stretching (PostgreSQL's SCRAM iteration count) is needed only below 100 bits.
#include <map>
#include <optional>
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
  double entropy_bits = 0;  // password_entropy_bits(*this), filled by parse and the default
};

// A fresh password and the entropy of the policy it was drawn from (a lower bound, bits).
struct generated_password {
  secret password;
  double entropy_bits = 0;
};

// Errors name the line and column: "line 3, column 15: min-chars must be a non-negative integer".
result<password_policy> parse_password_policy(std::string_view text);
result<secret> generate_password(const password_policy& p);
password_policy default_password_policy();
double password_entropy_bits(const password_policy& p);

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
  // The same, with the policy's entropy (one lookup: the password and its entropy always match).
  result<generated_password> generate_rated(const std::string& name);
  // The named policy's entropy ("" -> the default's); nullopt when the policy does not exist.
  result<std::optional<double>> entropy_bits(const std::string& name);

 private:
  // The parsed policy ("" -> the default), or null when it does not exist.
  result<std::shared_ptr<const password_policy>> find(const std::string& name);

  storage::physical& store_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const password_policy>> parsed_;
  std::uint64_t generation_ = 0;
};

}  // namespace credbroker::engine
