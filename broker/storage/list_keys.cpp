#include "broker/storage/physical.hpp"

#include <spdlog/spdlog.h>

namespace credbroker::storage {

void physical::apply_lazy(std::vector<operation> ops) {
  const std::string first = ops.empty() ? std::string() : ops.front().key;
  if (auto s = apply(std::move(ops)); !s) spdlog::error("lazy storage write of \"{}\" failed: {}", first, s.err().message);
}

std::vector<std::string> children_of(const std::string& prefix, const std::vector<std::string>& sorted_keys) {
  std::vector<std::string> out;
  for (const auto& key : sorted_keys) {
    if (key.compare(0, prefix.size(), prefix) != 0 || key.size() == prefix.size()) continue;
    const auto slash = key.find('/', prefix.size());
    std::string child = slash == std::string::npos ? key.substr(prefix.size())
                                                   : key.substr(prefix.size(), slash - prefix.size() + 1);
    if (out.empty() || out.back() != child) out.push_back(std::move(child));
  }
  return out;
}

}  // namespace credbroker::storage
