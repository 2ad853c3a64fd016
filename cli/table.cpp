#include "cli/table.hpp"

#include <algorithm>

namespace credbroker::cli {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0u) != 0x80u;
  }));
}

std::vector<table_row> cleaned(const std::vector<table_row>& rows) {
  std::vector<table_row> out = rows;
  for (auto& row : out) {
    for (auto& cell : row) {
      cell = trim(cell);
      if (cell.empty()) cell = "n/a";
    }
  }
  return out;
}

}  // namespace

std::string columns_output(const std::vector<table_row>& input) {
  const auto rows = cleaned(input);
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], code_points(row[i]));
    }
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) out += "\n";
    const auto& row = rows[r];
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - code_points(row[i]), ' ') + "    ";
    }
  }
  return out;
}

std::string table_output(const table_row& header, const std::vector<table_row>& rows) {
  std::vector<table_row> all;
  all.push_back(header);
  table_row underline;
  for (const auto& h : header) underline.push_back(std::string(code_points(trim(h)), '-'));
  all.push_back(underline);
  all.insert(all.end(), rows.begin(), rows.end());
  return columns_output(all);
}

}  // namespace credbroker::cli
