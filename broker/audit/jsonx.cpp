// JSONx (IBM's JSON-as-XML, the form of Vault's "jsonx" audit format).
//   {"type":"request","n":1,"ok":true,"x":null,"a":["p"],"o":{"k":"v"}} ->
//   <json:array name="a"><json:string>p</json:string></json:array><json:number name="n">1</json:number>
//   <json:object name="o"><json:string name="k">v</json:string></json:object><json:boolean name="ok">true
//   </json:boolean><json:string name="type">request</json:string><json:null name="x" />
// (one line; members sorted by name, as nlohmann's object order already is).
#include "broker/audit/format.hpp"

namespace credbroker::audit {
namespace {

using nlohmann::json;

void escape_into(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '\n': out += "&#xA;"; break;
      case '\r': out += "&#xD;"; break;
      case '\t': out += "&#x9;"; break;
      default: out += c;
    }
  }
}

void element(std::string& out, const json& v, const std::string* name);

void members(std::string& out, const json& obj) {
  for (auto it = obj.begin(); it != obj.end(); ++it) element(out, it.value(), &it.key());
}

void open_tag(std::string& out, const char* tag, const std::string* name) {
  out += "<json:";
  out += tag;
  if (name != nullptr) {
    out += " name=\"";
    escape_into(out, *name);
    out += '"';
  }
}

void element(std::string& out, const json& v, const std::string* name) {
  const char* tag = "string";
  switch (v.type()) {
    case json::value_t::null:
      open_tag(out, "null", name);
      out += " />";
      return;
    case json::value_t::object:
      open_tag(out, "object", name);
      out += '>';
      members(out, v);
      out += "</json:object>";
      return;
    case json::value_t::array:
      open_tag(out, "array", name);
      out += '>';
      for (const auto& e : v) element(out, e, nullptr);
      out += "</json:array>";
      return;
    case json::value_t::boolean: tag = "boolean"; break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: tag = "number"; break;
    default: break;
  }
  open_tag(out, tag, name);
  out += '>';
  if (v.is_string()) {
    escape_into(out, v.get_ref<const std::string&>());
  } else {
    out += v.dump();
  }
  out += "</json:";
  out += tag;
  out += '>';
}

}  // namespace

std::string to_jsonx(const json& entry) {
  std::string out;
  if (entry.is_object()) {
    members(out, entry);
  } else {
    element(out, entry, nullptr);
  }
  return out;
}

}  // namespace credbroker::audit
