#pragma once
// The K=V arguments of read/write/login/audit enable, as the vault CLI's kv-builder reads them:
//
//   key=value      a string value
//   key=@file      the file's contents, unchanged (no newline trimmed)
//   key=\@text     the literal "@text"
//   key=-          all of standard input
//   @file          a JSON object read from the file, merged in
//   -              a JSON object read from standard input, merged in
//   ""             ignored (but the result is then {} rather than null)
//   a repeated key becomes a list: a=1 a=2 -> {"a": ["1", "2"]}
//
// Standard input is read once; a second "-" is "stdin already consumed". Errors name the argument:
// "Invalid key/value pair 'x': format must be key=value" (the caller adds "Failed to parse K=V
// data: "); an unreadable file is "... error reading file: <why>". With no arguments the result is
// JSON null, which a write sends as the body `null` (the vault CLI's -force write).
//
// Thread: not synchronised (reads the given stream).
#include <istream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/result.hpp"

namespace credbroker::cli {

result<nlohmann::json> parse_kv_args(const std::vector<std::string>& args, std::istream& stdin_stream);

}  // namespace credbroker::cli
