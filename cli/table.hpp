#pragma once
// Column output as the vault CLI prints it (ryanuber/columnize with Vault's settings): every cell
// trimmed of surrounding whitespace, an empty cell shown as "n/a", columns padded to their widest
// cell (counted in code points) and joined by four spaces, the last column not padded.
// table_output() puts a header row first and, under it, a row of dashes as long as each header:
//
//   table_output({"Key", "Value"}, {{"lease_id", "database/creds/app/x"}, {"renewable", "true"}})
//   ->  Key          Value
//       ---          -----
//       lease_id     database/creds/app/x
//       renewable    true
//
// No trailing newline. Thread: pure functions.
#include <string>
#include <vector>

namespace credbroker::cli {

using table_row = std::vector<std::string>;

std::string columns_output(const std::vector<table_row>& rows);
std::string table_output(const table_row& header, const std::vector<table_row>& rows);

}  // namespace credbroker::cli
