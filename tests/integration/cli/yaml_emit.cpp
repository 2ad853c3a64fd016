// Test-only filter for yaml_roundtrip_test.py: reads one JSON document per line on stdin and
// writes, for each, cli::to_yaml of it followed by a line "---end---".
#include <iostream>
#include <string>

#include "cli/yaml.hpp"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::cout << credbroker::cli::to_yaml(nlohmann::json::parse(line)) << "---end---\n";
  }
  return 0;
}
