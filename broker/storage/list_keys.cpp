#include "broker/storage/physical.hpp"

namespace credbroker::storage {

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
