#include "api/sys_audit.hpp"

namespace credbroker::api {
namespace {

using nlohmann::json;

json describe(const audit::device_entry& e) {
  return {{"type", e.type},
          {"description", e.description},
          {"options", e.options.empty() ? json(nullptr) : json(e.options)},
          {"local", e.local},
          {"path", e.path}};
}

// TypeKVPairs, weakly: strings as given, numbers and booleans printed.
result<std::map<std::string, std::string>> options_of(const json& raw) {
  std::map<std::string, std::string> out;
  if (raw.is_null()) return out;
  if (!raw.is_object()) {
    return make_error(errc::invalid_request,
                      "Field validation failed: error converting input for field \"options\": expected a map of strings");
  }
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    if (it->is_null()) continue;
    if (it->is_string()) {
      out[it.key()] = it->get<std::string>();
    } else if (it->is_boolean() || it->is_number()) {
      out[it.key()] = it->dump();
    } else {
      return make_error(errc::invalid_request, "Field validation failed: error converting input for field \"options\": "
                                               "option \"" + it.key() + "\" is not a string");
    }
  }
  return out;
}

reply with_top_level(json data) {
  reply r = reply::with_data(std::move(data));
  r.inject_top_level = true;
  return r;
}

}  // namespace

std::vector<route> sys_audit_routes(audit::audit_table& table) {
  std::vector<route> out;

  route list;
  list.pattern = "audit";
  list.sudo = true;
  list.operations[operation::read] = [&table](request&, const field_data&) {
    json devices = json::object();
    for (const auto& e : table.list()) devices[e.path] = describe(e);
    return with_top_level(std::move(devices));
  };
  out.push_back(std::move(list));

  route one;
  one.pattern = "audit/*path";
  one.sudo = true;
  one.fields = {{"path", field_type::string},        {"type", field_type::string},
                {"description", field_type::string}, {"options", field_type::map},
                {"local", field_type::boolean, false}};
  one.operations[operation::update] = [&table](request& req, const field_data& fd) {
    audit::device_entry e;
    e.path = req.captures.at("path");
    e.type = fd.get_string("type").value_or("");
    if (e.type.empty()) return reply::fail(400, "type is required");
    e.description = fd.get_string("description").value_or("");
    auto options = options_of(fd.get_json("options").value_or(json(nullptr)));
    if (!options) return reply::fail(options.err());
    e.options = std::move(*options);
    e.local = fd.get_bool("local").value_or(false);
    if (auto s = table.enable(std::move(e)); !s) return reply::fail(s.err());
    return reply::empty();
  };
  one.operations[operation::remove] = [&table](request& req, const field_data&) {
    if (auto s = table.disable(req.captures.at("path")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  out.push_back(std::move(one));

  route hash;
  hash.pattern = "audit-hash/*path";
  hash.fields = {{"path", field_type::string}, {"input", field_type::string}};
  hash.operations[operation::update] = [&table](request& req, const field_data& fd) {
    const std::string input = fd.get_string("input").value_or("");
    if (input.empty()) return reply::fail(400, "the \"input\" parameter is empty");
    auto h = table.hash(req.captures.at("path"), input);
    if (!h) return reply::fail(h.err());
    return with_top_level({{"hash", *h}});
  };
  out.push_back(std::move(hash));
  return out;
}

}  // namespace credbroker::api
