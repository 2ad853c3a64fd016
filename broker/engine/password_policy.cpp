#include "broker/engine/password_policy.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "broker/core/hcl.hpp"
#include "broker/core/random.hpp"

namespace credbroker::engine {
namespace {

constexpr const char* prefix = "sys/password_policy/";
constexpr int max_tries = 10'000;

error bad(const hcl::position& p, std::string m) { return make_error(errc::invalid_request, hcl::describe(p) + m); }

result<int> integer(const hcl::item& it) {
  if (it.v.k != hcl::value::kind::number || it.v.number != static_cast<double>(static_cast<long long>(it.v.number)) ||
      it.v.number < 0 || it.v.number > 1'000'000) {
    return bad(it.v.pos, it.key + " must be a non-negative integer");
  }
  return static_cast<int>(it.v.number);
}

}  // namespace

result<password_policy> parse_password_policy(std::string_view text) {
  auto doc = hcl::parse(text);
  if (!doc) return std::move(doc).err();
  password_policy p;
  bool have_length = false;
  for (const auto& it : doc->items) {
    if (it.key == "length") {
      auto n = integer(it);
      if (!n) return std::move(n).err();
      p.length = *n;
      have_length = true;
    } else if (it.key == "rule") {
      if (it.v.k != hcl::value::kind::object) return bad(it.pos, "rule must be followed by a quoted type and a block");
      for (const auto& typed : it.v.object) {
        if (typed.key != "charset") return bad(typed.pos, "unrecognized rule type \"" + typed.key + "\" (expected charset)");
        if (typed.v.k != hcl::value::kind::object) return bad(typed.pos, "rule \"charset\" must be a block");
        password_policy::rule r;
        bool have_charset = false;
        for (const auto& f : typed.v.object) {
          if (f.key == "charset") {
            if (f.v.k != hcl::value::kind::string) return bad(f.v.pos, "charset must be a string");
            r.charset = f.v.str;
            have_charset = true;
          } else if (f.key == "min-chars" || f.key == "min_chars") {
            auto n = integer(f);
            if (!n) return std::move(n).err();
            r.min_chars = *n;
          } else {
            return bad(f.pos, "invalid key \"" + f.key + "\" in rule \"charset\"");
          }
        }
        if (!have_charset || r.charset.empty()) return bad(typed.pos, "rule \"charset\" needs a non-empty charset");
        p.rules.push_back(std::move(r));
      }
    } else {
      return bad(it.pos, "invalid key \"" + it.key + "\" (expected length or rule)");
    }
  }
  if (!have_length) return make_error(errc::invalid_request, "length must be specified");
  if (p.length < 4) return make_error(errc::invalid_request, "length must be at least 4");
  if (p.length > 4096) return make_error(errc::invalid_request, "length must be at most 4096");
  if (p.rules.empty()) return make_error(errc::invalid_request, "at least one rule \"charset\" is required");
  std::set<char> chars;
  std::string uni;
  int needed = 0;
  for (const auto& r : p.rules) {
    for (char c : r.charset) {
      if (chars.insert(c).second) uni += c;
    }
    needed += r.min_chars;
  }
  if (needed > p.length) {
    return make_error(errc::invalid_request, "the rules require " + std::to_string(needed) +
                                                 " characters, more than the length " + std::to_string(p.length));
  }
  p.charset = uni;
  p.entropy_bits = password_entropy_bits(p);
  if (auto test = generate_password(p); !test) return std::move(test).err();
  return p;
}

result<secret> generate_password(const password_policy& p) {
  if (p.charset.empty() || p.length <= 0) return make_error(errc::invalid_request, "empty password policy");
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    // Each character uniform over the charset (random_from: bulk CSPRNG bytes, no modulo bias).
    std::string out = random_from(p.charset, static_cast<std::size_t>(p.length));
    const bool ok = std::all_of(p.rules.begin(), p.rules.end(), [&](const password_policy::rule& r) {
      const auto n = std::count_if(out.begin(), out.end(), [&](char c) { return r.charset.find(c) != std::string::npos; });
      return n >= r.min_chars;
    });
    if (ok) return secret(std::move(out));
  }
  return make_error(errc::invalid_request, "unable to generate a password that satisfies the policy");
}

password_policy default_password_policy() {
  password_policy p;
  p.length = 20;
  p.rules = {{"abcdefghijklmnopqrstuvwxyz", 1}, {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1}, {"0123456789", 1}, {"-", 1}};
  for (const auto& r : p.rules) p.charset += r.charset;
  p.entropy_bits = password_entropy_bits(p);
  return p;
}

namespace {

// P[Binomial(n, q) < m], summed in log space (n up to 4096: the terms under- and overflow doubles).
double binomial_below(int n, double q, int m) {
  if (m <= 0) return 0;
  if (q >= 1) return m > n ? 1 : 0;
  double sum = 0;
  const double lq = std::log(q);
  const double lr = std::log1p(-q);
  for (int k = 0; k < m && k <= n; ++k) {
    const double log_choose = std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
    sum += std::exp(log_choose + k * lq + (n - k) * lr);
  }
  return std::min(sum, 1.0);
}

std::size_t distinct(const std::string& s) { return std::set<char>(s.begin(), s.end()).size(); }

}  // namespace

double password_entropy_bits(const password_policy& p) {
  const std::size_t u = distinct(p.charset);
  if (u == 0 || p.length <= 0) return 0;
  const double per_char = std::log2(static_cast<double>(u));
  double rejected = 0;  // union bound on the share of U^L that some rule rejects
  double constructive = 0;
  int reserved = 0;
  for (const auto& r : p.rules) {
    const std::size_t c = distinct(r.charset);
    rejected += binomial_below(p.length, static_cast<double>(c) / static_cast<double>(u), r.min_chars);
    constructive += r.min_chars * std::log2(static_cast<double>(c));
    reserved += r.min_chars;
  }
  constructive += std::max(0, p.length - reserved) * per_char;
  double bound = constructive;
  if (rejected < 1) bound = std::max(bound, p.length * per_char + std::log2(1 - rejected));
  return std::max(0.0, bound);
}

status password_policies::put(const std::string& name, std::string_view text) {
  if (name.empty()) return make_error(errc::invalid_request, "missing policy name");
  auto p = parse_password_policy(text);
  if (!p) return make_error(errc::invalid_request, "unable to parse password policy: " + p.err().message);
  if (auto s = store_.put(prefix + name, std::string(text)); !s) return s;
  std::lock_guard lock(mu_);
  ++generation_;
  parsed_[name] = std::make_shared<const password_policy>(std::move(*p));
  return ok_v;
}

result<std::optional<std::string>> password_policies::get_text(const std::string& name) { return store_.get(prefix + name); }

status password_policies::remove(const std::string& name) {
  if (auto s = store_.remove(prefix + name); !s) return s;
  std::lock_guard lock(mu_);
  ++generation_;
  parsed_.erase(name);
  return ok_v;
}

result<std::vector<std::string>> password_policies::list() { return store_.list(prefix); }

result<std::shared_ptr<const password_policy>> password_policies::find(const std::string& name) {
  static const auto fallback = std::make_shared<const password_policy>(default_password_policy());
  if (name.empty()) return fallback;
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = parsed_.find(name); it != parsed_.end()) return it->second;
    gen = generation_;
  }
  auto text = get_text(name);
  if (!text) return std::move(text).err();
  if (!text->has_value()) return std::shared_ptr<const password_policy>();
  auto p = parse_password_policy(**text);
  if (!p) return std::move(p).err();
  auto parsed = std::make_shared<const password_policy>(std::move(*p));
  {
    std::lock_guard lock(mu_);
    if (generation_ == gen) parsed_.emplace(name, parsed);  // nothing was written meanwhile
  }
  return parsed;
}

result<generated_password> password_policies::generate_rated(const std::string& name) {
  auto p = find(name);
  if (!p) return std::move(p).err();
  if (!*p) return make_error(errc::invalid_request, "password policy \"" + name + "\" does not exist");
  auto pw = generate_password(**p);
  if (!pw) return std::move(pw).err();
  return generated_password{std::move(*pw), (*p)->entropy_bits};
}

result<secret> password_policies::generate(const std::string& name) {
  auto g = generate_rated(name);
  if (!g) return std::move(g).err();
  return std::move(g->password);
}

result<std::optional<double>> password_policies::entropy_bits(const std::string& name) {
  auto p = find(name);
  if (!p) return std::move(p).err();
  if (!*p) return std::optional<double>();
  return std::optional<double>((*p)->entropy_bits);
}

}  // namespace credbroker::engine
