#include "api/router.hpp"

#include <algorithm>
#include <typeinfo>
#include <spdlog/spdlog.h>

namespace credbroker::api {
namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto slash = s.find('/');
    out.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool match_pattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& caps) {
  const auto pat = split(pattern);
  std::string_view rest = path;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const std::string_view p = pat[i];
    if (!p.empty() && p[0] == '*') {
      caps[std::string(p.substr(1))] = std::string(rest);
      return true;
    }
    const auto slash = rest.find('/');
    const bool last = i + 1 == pat.size();
    if (last != (slash == std::string_view::npos)) return false;
    const std::string_view seg = rest.substr(0, slash);
    if (!p.empty() && p[0] == ':') {
      if (!is_generic_name(seg)) return false;
      caps[std::string(p.substr(1))] = std::string(seg);
    } else if (p != seg) {
      return false;
    }
    if (!last) {
      rest.remove_prefix(slash + 1);
    }
  }
  return true;
}

// Percent-escapes what a log line should not hold in clear text (controls, spaces, quotes, '%').
std::string escape_for_log(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                       std::string_view("._~!$&'()*+,;=:@/-").find(c) != std::string_view::npos;
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

std::string join(const std::vector<std::string_view>& segs, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += '/';
    out += segs[i];
  }
  return out;
}

// A matched route's path with its credential captures hashed.
std::string render_matched(std::string_view pattern, std::string_view rel, const router::hash_fn& hash) {
  const auto pat = split(pattern);
  const auto segs = split(rel);
  std::string out;
  for (std::size_t i = 0; i < pat.size() && i < segs.size(); ++i) {
    const std::string_view p = pat[i];
    if (i > 0) out += '/';
    if (!p.empty() && p[0] == '*') {
      const std::string rest = join(segs, i, segs.size());
      out += is_credential_capture(p.substr(1)) && !rest.empty() ? hash(rest) : escape_for_log(rest);
      return out;
    }
    const bool secret = !p.empty() && p[0] == ':' && is_credential_capture(p.substr(1));
    out += secret ? hash(segs[i]) : escape_for_log(segs[i]);
  }
  return out;
}

// How many leading segments of an unmatched path this pattern covers without a credential.
std::size_t clear_prefix(std::string_view pattern, const std::vector<std::string_view>& segs) {
  const auto pat = split(pattern);
  std::size_t i = 0;
  for (; i < pat.size() && i < segs.size(); ++i) {
    const std::string_view p = pat[i];
    if (!p.empty() && p[0] == '*') return is_credential_capture(p.substr(1)) ? i : segs.size();
    if (!p.empty() && p[0] == ':') {
      if (is_credential_capture(p.substr(1)) || !is_generic_name(segs[i])) return i;
    } else if (p != segs[i]) {
      return i;
    }
  }
  return i;
}

}  // namespace

bool is_credential_capture(std::string_view name) {
  for (const std::string_view word : {"token", "accessor", "secret_id", "lease"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return name == "prefix";
}

std::string loggable_unrouted(std::string_view path, const router::hash_fn& hash) {
  const std::size_t lead = !path.empty() && path[0] == '/' ? 1 : 0;
  if (path.size() == lead) return std::string(path);
  return std::string(path.substr(0, lead)) + hash(path.substr(lead));
}

std::string router::loggable_path(const std::string& path, const hash_fn& hash) const {
  const match m = find(path);
  if (!m.mount) {
    // No mount: the leading segments some mount path starts with ("auth/" of "auth/typo/x"), then
    // the rest as one hash.
    const auto segs = split(path);
    std::size_t clear = 0;
    {
      std::shared_lock lock(mu_);
      for (const auto& entry : mounts_) {
        const auto mount_segs = split(entry->path);
        std::size_t i = 0;
        while (i < segs.size() && i + 1 < mount_segs.size() && segs[i] == mount_segs[i]) ++i;
        clear = std::max(clear, i);
      }
    }
    std::string out = escape_for_log(join(segs, 0, clear));
    const std::string rest = join(segs, clear, segs.size());
    if (!rest.empty()) out += (clear > 0 ? "/" : "") + hash(rest);
    return out;
  }
  const std::string_view rel = std::string_view(path).substr(m.mount->path.size());
  const std::string head = escape_for_log(m.mount->path);
  if (m.r != nullptr) return head + render_matched(m.r->pattern, rel, hash);
  const auto segs = split(rel);
  std::size_t clear = 0;
  for (const auto& r : m.mount->routes) clear = std::max(clear, clear_prefix(r.pattern, segs));
  std::string out = head + escape_for_log(join(segs, 0, clear));
  if (clear < segs.size()) {
    const std::string rest = join(segs, clear, segs.size());
    if (clear > 0) out += '/';
    if (!rest.empty()) out += hash(rest);
  }
  return out;
}

bool is_generic_name(std::string_view s) {
  if (s.empty() || !word_char(s.front()) || !word_char(s.back())) return false;
  for (char c : s) {
    if (!word_char(c) && c != '-' && c != '.') return false;
  }
  return true;
}

void router::add_mount(std::shared_ptr<const mount_table_entry> m) {
  std::unique_lock lock(mu_);
  std::erase_if(mounts_, [&](const auto& e) { return e->path == m->path; });
  mounts_.push_back(std::move(m));
  std::sort(mounts_.begin(), mounts_.end(),
            [](const auto& a, const auto& b) { return a->path.size() > b->path.size(); });
}

bool router::remove_mount(const std::string& path) {
  std::unique_lock lock(mu_);
  return std::erase_if(mounts_, [&](const auto& e) { return e->path == path; }) > 0;
}

router::match router::find(const std::string& path) const {
  match m;
  {
    std::shared_lock lock(mu_);
    for (const auto& entry : mounts_) {
      if (path.compare(0, entry->path.size(), entry->path) == 0) {
        m.mount = entry;
        break;
      }
    }
  }
  if (!m.mount) return m;
  const std::string_view rel = std::string_view(path).substr(m.mount->path.size());
  for (const auto& r : m.mount->routes) {
    std::map<std::string, std::string> caps;
    if (match_pattern(r.pattern, rel, caps)) {
      m.r = &r;
      m.captures = std::move(caps);
      break;
    }
  }
  return m;
}

void router::resolve_operation(const match& m, request& req) const {
  if (req.operation_resolved || m.r == nullptr) return;
  req.captures = m.captures;
  req.mount = m.mount->path;
  if (req.op == operation::update && m.r->exists && !m.r->exists(req)) req.op = operation::create;
  req.operation_resolved = true;
}

reply router::invoke(const match& m, request& req) const {
  const route& r = *m.r;
  resolve_operation(m, req);
  auto op = r.operations.find(req.op);
  if (op == r.operations.end() && req.op == operation::create) op = r.operations.find(operation::update);
  if (op == r.operations.end()) {
    if (r.unauthenticated) return reply::fail(405, std::vector<std::string>{});
    return reply::fail(405, multierror_text("unsupported operation"));
  }
  nlohmann::json raw = req.body;
  for (const auto& [k, v] : req.captures) raw[k] = v;
  auto fd = field_data::make(r.fields, raw);
  if (!fd) return reply::fail(400, fd.err().message);
  reply out;
  try {
    out = op->second(req, *fd);
  } catch (const std::exception& e) {
    // what() may carry a secret (driver text): log the type only.
    spdlog::error("handler for {} {} threw an exception of type {}", to_string(req.op), req.path, typeid(e).name());
    return reply::fail(500, multierror_text("internal error"));
  }
  if (req.op == operation::list && out.k == reply::kind::envelope) {
    const auto keys = out.data.is_object() ? out.data.find("keys") : out.data.end();
    if (!out.data.is_object() || keys == out.data.end() || !keys->is_array() || keys->empty()) {
      return reply::not_found();
    }
  }
  std::vector<std::string> unknown;
  for (const auto& k : fd->unknown()) {
    if (!req.captures.contains(k)) unknown.push_back(k);
  }
  if (r.warn_unknown_fields && !unknown.empty() && (out.k == reply::kind::envelope || out.k == reply::kind::empty)) {
    // A write that would answer 204 answers 200 with the warning instead, so it is not lost.
    if (out.k == reply::kind::empty) out = reply::with_data(nullptr);
    std::string list;
    for (const auto& k : unknown) list += (list.empty() ? "" : " ") + k;
    out.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + list + "]");
  }
  return out;
}

}  // namespace credbroker::api
