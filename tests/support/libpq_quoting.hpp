#pragma once
// The rules of libpq's quoting without a connection, for tests and the statements fuzz target:
// PQescapeStringConn doubles ' (and \ too when the session's standard_conforming_strings is off);
// PQescapeIdentifier doubles ". The plugin itself quotes with the live connection (libpqxx).
#include <string>
#include <string_view>

#include "plugins/postgres/statements.hpp"

namespace credbroker::test {

inline plugins::postgres::quoting libpq_like(bool standard_conforming_strings) {
  return {[standard_conforming_strings](std::string_view v) {
            std::string out = "'";
            for (char c : v) {
              if (c == '\'' || (c == '\\' && !standard_conforming_strings)) out += c;
              out += c;
            }
            return out + "'";
          },
          [](std::string_view v) {
            std::string out = "\"";
            for (char c : v) {
              if (c == '"') out += '"';
              out += c;
            }
            return out + "\"";
          },
          standard_conforming_strings};
}

}  // namespace credbroker::test
