#include "cli/kv_args.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace credbroker::cli {
namespace {

using json = nlohmann::json;

struct builder {
  std::istream& in;
  bool stdin_used = false;
  json out = nullptr;

  result<std::string> read_stdin() {
    if (stdin_used) return make_error(errc::invalid_request, "stdin already consumed");
    stdin_used = true;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static result<std::string> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(errc::invalid_request, "open " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << f.rdbuf();
    if (f.bad()) return make_error(errc::invalid_request, "read " + path + ": " + std::strerror(errno));
    return text.str();
  }

  status merge_json(const std::string& text) {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return make_error(errc::invalid_request, "failed to parse JSON input: expected one JSON object");
    }
    if (!out.is_object()) out = json::object();
    for (auto it = parsed.begin(); it != parsed.end(); ++it) out[it.key()] = it.value();
    return ok_v;
  }

  void set(const std::string& key, std::string value) {
    if (!out.is_object()) out = json::object();
    auto it = out.find(key);
    if (it == out.end()) {
      out[key] = std::move(value);
    } else if (it->is_array()) {
      it->push_back(std::move(value));
    } else {
      *it = json::array({*it, std::move(value)});
    }
  }

  result<std::string> value_of(const std::string& value) {
    if (value.size() > 1 && value[0] == '\\' && value[1] == '@') return value.substr(1);
    if (!value.empty() && value[0] == '@') {
      auto text = read_file(value.substr(1));
      if (!text) return make_error(errc::invalid_request, "error reading file: " + text.err().message);
      return text;
    }
    if (value == "-") return read_stdin();
    return value;
  }

  status add(const std::string& raw) {
    if (!out.is_object()) out = json::object();
    if (raw.empty()) return ok_v;
    const auto eq = raw.find('=');
    if (eq == std::string::npos) {
      if (raw == "-") {
        auto text = read_stdin();
        if (!text) return std::move(text).err();
        return merge_json(*text);
      }
      if (raw[0] == '@') {
        auto text = read_file(raw.substr(1));
        if (!text) return std::move(text).err();
        return merge_json(*text);
      }
      return make_error(errc::invalid_request, "format must be key=value");
    }
    auto value = value_of(raw.substr(eq + 1));
    if (!value) return std::move(value).err();
    set(raw.substr(0, eq), std::move(*value));
    return ok_v;
  }
};

}  // namespace

result<json> parse_kv_args(const std::vector<std::string>& args, std::istream& stdin_stream) {
  builder b{stdin_stream};
  for (const auto& a : args) {
    if (auto s = b.add(a); !s) return make_error(errc::invalid_request, "Invalid key/value pair '" + a + "': " + s.err().message);
  }
  return b.out;
}

}  // namespace credbroker::cli
